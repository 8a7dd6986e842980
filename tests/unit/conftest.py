"""Make the checkout importable as ansible_collections.gpu_spark.cluster.

The committed link collections/ansible_collections/gpu_spark/cluster points
back at the checkout, so the folder `collections` next to `tests` is a
collection root that Python can import from.
"""

from __future__ import annotations

import sys
from pathlib import Path

COLLECTIONS_ROOT = Path(__file__).resolve().parents[2] / "collections"

if str(COLLECTIONS_ROOT) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS_ROOT))

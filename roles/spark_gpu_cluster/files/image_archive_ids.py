"""Print the image IDs and tags in a `docker save` archive, as JSON.

Runs on the controller, so that a host whose Docker already has the image
is neither sent the archive nor made to checksum it. Only the tar headers
and two small members are read: 0.1 s for an uncompressed 834 MB archive.

    image_archive_ids.py ARCHIVE
    -> {"ids": ["<64 hex>", ...], "tags": ["name:tag", ...]}

`ids` contains the config digests from manifest.json (the image ID with
Docker's classic image store) and the digests listed in index.json (the
image ID with the containerd image store, Docker 25 and later).
NOTE: only archives from Docker 20.10's classic store were loaded here.
"""

from __future__ import annotations

import json
import re
import sys
import tarfile

HEX_DIGEST = re.compile(r"([0-9a-f]{64})")


def member_json(archive: tarfile.TarFile, name: str):
    try:
        handle = archive.extractfile(name)
    except KeyError:
        return None
    if handle is None:
        return None
    return json.load(handle)


def image_ids(path: str) -> dict:
    with tarfile.open(path, mode="r:*") as archive:
        manifest = member_json(archive, "manifest.json") or []
        index = member_json(archive, "index.json") or {}
    ids: list[str] = []
    tags: list[str] = []
    for entry in manifest:
        match = HEX_DIGEST.search(str(entry.get("Config", "")))
        if match:
            ids.append(match.group(1))
        tags.extend(entry.get("RepoTags") or [])
    for entry in index.get("manifests", []):
        match = HEX_DIGEST.search(str(entry.get("digest", "")))
        if match:
            ids.append(match.group(1))
    return {"ids": sorted(set(ids)), "tags": sorted(set(tags))}


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: image_archive_ids.py ARCHIVE", file=sys.stderr)
        return 2
    path = sys.argv[1]
    try:
        result = image_ids(path)
    except (OSError, tarfile.TarError, ValueError) as error:
        print(f"cannot read {path} as a `docker save` archive: {error}. "
              "Create it with `docker save -o FILE IMAGE`.", file=sys.stderr)
        return 1
    if not result["ids"]:
        print(f"{path} has no manifest.json or index.json with an image ID, so it is not "
              "a `docker save` archive. Create it with `docker save -o FILE IMAGE`.",
              file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

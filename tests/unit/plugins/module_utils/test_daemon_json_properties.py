"""Property-based tests of the daemon.json merge, removal and rendering."""

from __future__ import annotations

import typing as t

from hypothesis import given, settings, strategies as st

from ansible_collections.gpu_spark.cluster.plugins.module_utils.daemon_json import (
    canonical_json,
    deep_merge,
    parse_document,
    remove_key_paths,
    render_document,
)

# A small key alphabet makes the document and the settings share keys
# often, which is where merges can go wrong.
KEYS = st.one_of(
    st.sampled_from(["hosts", "features", "runtimes", "data-root", "cdi", "a", "b"]),
    st.text(min_size=1, max_size=4),
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2 ** 63), max_value=2 ** 63),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(KEYS, children, max_size=4),
    ),
    max_leaves=20,
)
OBJECTS = st.dictionaries(KEYS, JSON_VALUES, max_size=6)
# dockerd requires `runtimes` to map names to objects, so documents that
# must parse back leave that key out.
VALID_DOCUMENTS = OBJECTS.map(lambda document: {key: value for key, value in document.items() if key != "runtimes"})
KEY_PATHS = st.lists(KEYS, min_size=1, max_size=3).map(tuple)


def assert_untouched_outside(before: dict[str, t.Any], overlay: dict[str, t.Any], merged: dict[str, t.Any]) -> None:
    """Check that every key of before that overlay does not name is unchanged."""
    for key, value in before.items():
        if key not in overlay:
            assert canonical_json(merged[key]) == canonical_json(value), key
        elif isinstance(value, dict) and isinstance(overlay[key], dict):
            assert_untouched_outside(value, overlay[key], merged[key])


def key_orders(document: t.Any) -> t.Any:
    """Return the key order of every object in a document, nested the same way."""
    if isinstance(document, dict):
        return [(key, key_orders(value)) for key, value in document.items()]
    if isinstance(document, list):
        return [key_orders(item) for item in document]
    return None


@settings(max_examples=200, deadline=None)
@given(document=OBJECTS, overlay=OBJECTS)
def test_merge_keeps_unnamed_keys(document, overlay):
    merged = deep_merge(document, overlay)
    assert_untouched_outside(document, overlay, merged)


@settings(max_examples=200, deadline=None)
@given(document=OBJECTS, overlay=OBJECTS)
def test_merge_twice_equals_once(document, overlay):
    once = deep_merge(document, overlay)
    twice = deep_merge(once, overlay)
    assert canonical_json(twice) == canonical_json(once)
    assert key_orders(twice) == key_orders(once)


@settings(max_examples=200, deadline=None)
@given(document=OBJECTS, overlay=OBJECTS)
def test_merge_keeps_existing_order(document, overlay):
    merged = deep_merge(document, overlay)
    assert list(merged)[:len(document)] == list(document)


@settings(max_examples=200, deadline=None)
@given(document=OBJECTS, overlay=OBJECTS)
def test_merge_sets_given_leaves(document, overlay):
    merged = deep_merge(document, overlay)
    for key, value in overlay.items():
        if not isinstance(value, dict):
            assert canonical_json(merged[key]) == canonical_json(value), key


@settings(max_examples=200, deadline=None)
@given(document=OBJECTS, paths=st.lists(KEY_PATHS, max_size=3))
def test_remove_twice_equals_once(document, paths):
    once = remove_key_paths(document, paths)
    assert canonical_json(remove_key_paths(once, paths)) == canonical_json(once)


@settings(max_examples=200, deadline=None)
@given(document=OBJECTS, path=KEY_PATHS)
def test_remove_keeps_other_top_keys(document, path):
    removed = remove_key_paths(document, [path])
    for key, value in document.items():
        if key != path[0]:
            assert canonical_json(removed[key]) == canonical_json(value), key


@settings(max_examples=200, deadline=None)
@given(document=VALID_DOCUMENTS, indent=st.sampled_from([2, 4, "\t"]))
def test_render_then_parse_round_trips(document, indent):
    parsed = parse_document(render_document(document, indent).encode("utf-8"), "daemon.json")
    assert canonical_json(parsed.document) == canonical_json(document)
    assert key_orders(parsed.document) == key_orders(document)

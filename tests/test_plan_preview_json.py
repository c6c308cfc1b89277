"""preview.json through orjson is byte-identical to json.dumps(indent=2, sort_keys=True), and
falls back to the standard encoder wherever the two would differ."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from servestack.plan.document import preview_json

scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(), st.text(max_size=6))
documents = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                          st.dictionaries(st.text(max_size=4), inner, max_size=4)),
                         max_leaves=25)


@settings(max_examples=300, deadline=None)
@given(documents)
def test_same_text_as_the_standard_encoder(document):
    assert preview_json(document) == json.dumps(document, indent=2, sort_keys=True)


def test_the_cases_where_orjson_writes_otherwise_fall_back():
    for document in ({"a": "caf\u00e9"}, {"a": "\x7f"}, {"a": 1e-05}, {"a": 1e16}, {"a": float("nan")},
                     {1: "int key"}, {"a": 2**65}, {"z": {}, "a": [], "m": [None, True, 0.5, "\n\t\"\\"]}):
        assert preview_json(document) == json.dumps(document, indent=2, sort_keys=True)

"""Manifests through the plan's ManifestDumper are the text the stock safe dumper (libyaml's, as
before) writes for them."""

from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from servestack.plan.document import _DUMPER, ManifestDumper

scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=False), st.text(max_size=8),
                    st.sampled_from(["yes", "no", "on", "1.0", "0x1F", "~", "null", "2026-11-26", "'", "- a", ": b", "#c"]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=6), inner, max_size=4)),
                      max_leaves=30)
manifests = st.dictionaries(st.text(max_size=6), values, max_size=5)  # an object: a mapping at the top


def dump(obj) -> str:
    return yaml.dump(obj, Dumper=ManifestDumper, sort_keys=False, default_flow_style=False)


@settings(max_examples=300, deadline=None)
@given(manifests)
def test_same_text_as_the_stock_safe_dumper(manifest):
    assert dump(manifest) == yaml.dump(manifest, Dumper=_DUMPER, sort_keys=False, default_flow_style=False)


def test_a_repeated_object_is_written_out_again_not_as_an_alias():
    labels = {"app": "iris"}
    manifest = {"metadata": {"labels": labels}, "spec": {"selector": labels}}
    assert dump(manifest) == "metadata:\n  labels:\n    app: iris\nspec:\n  selector:\n    app: iris\n"
    assert "&id001" in yaml.dump(manifest, Dumper=_DUMPER, sort_keys=False)  # what the stock dumper would write

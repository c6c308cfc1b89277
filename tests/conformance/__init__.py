"""Conformance: every object a plan renders, judged by the upstream projects' own artifacts.

The data under ``data/`` is derived by ``tools/vendor_upstream.py`` (never edited by hand); the
helpers here read it, translate CRD schemas the way the API server validates, and compute what
KServe and Knative would make of a rendered InferenceService.
"""

"""Hugging Face models (``hf://<org>/<model>:<revision>``): pinned to a commit.

KServe's storage initializer downloads ``hf://`` models with ``snapshot_download(revision=...)``;
only a full commit id names bytes that cannot move. The config refuses anything else (through
:func:`components.config.values.hf_uri_problem`); a plan from elsewhere (a real preview) is judged
by the same rule here. Whether the commit exists is not checked: preflight talks to AWS only.
"""

from __future__ import annotations

from components.config.values import hf_uri_problem
from plandoc.models import ModelUri

from .report import Result, Status


def check_hf_pin(model: ModelUri) -> Result:
    problem = hf_uri_problem(model.uri)
    if problem:
        return Result("hf-pinned", model.subject, Status.FAIL, f"{model.uri} {problem}",
                      f"pin the commit: hf://<org>/<model>:<40-hex commit> ({model.sources[0]})")
    commit = model.uri.rsplit(":", 1)[1]
    return Result("hf-pinned", model.subject, Status.PASS,
                  f"{model.uri} is pinned to commit {commit} (that the commit exists on Hugging Face is not checked: "
                  "preflight talks to AWS only)")

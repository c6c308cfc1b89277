"""Shared fixtures. Every plan is made fresh by tests/harness.py; nothing here holds Pulumi state."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness import REPO


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    """A scratch copy of the project's stack files whose program is the repository's __main__.py."""
    (tmp_path / "Pulumi.yaml").write_text(
        (REPO / "Pulumi.yaml").read_text() + f"main: {REPO}\n"
    )
    shutil.copytree(REPO / "stacks", tmp_path / "stacks")
    return tmp_path

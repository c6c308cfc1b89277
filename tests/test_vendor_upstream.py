"""Every derived upstream file in the project carries its provenance and is in canonical form.

These tests read only the project's copies (never the upstream reference folder):
tools/vendor_upstream.py is the one writer, and ``tools/vendor_upstream.py --check`` compares
them with the upstream files.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))
import vendor_upstream  # noqa: E402

DERIVED_DIRS = (REPO / "components" / "data" / "upstream", REPO / "tests" / "conformance" / "data")
DERIVED = sorted(p for d in DERIVED_DIRS if d.is_dir() for p in d.rglob("*.json"))


def test_there_is_derived_data():
    assert any(p.name.startswith("kserve-runtimes-") for p in DERIVED)


@pytest.mark.parametrize("path", DERIVED, ids=lambda p: str(p.relative_to(REPO)))
def test_derived_file_has_provenance_and_canonical_form(path):
    text = path.read_text(encoding="utf-8")
    data = json.loads(text)
    block = data["provenance"]
    assert block["generatedBy"] == "tools/vendor_upstream.py"
    assert block["license"] == "Apache-2.0"
    assert block["repository"].startswith("https://github.com/")
    assert block["ref"] and block["vendoredAs"]
    assert block["paths"] and block["paths"] == sorted(block["paths"])
    # byte for byte what the tool's serializer writes for this file: sorted keys, stable layout
    assert text == vendor_upstream.dump_for(path.relative_to(REPO), data)


def test_check_mode_without_upstream_folder_is_a_clear_error(tmp_path, capsys):
    assert vendor_upstream.main(["--check", "--upstream", str(tmp_path / "absent")]) == 2
    assert f"upstream folder {tmp_path / 'absent'} does not exist (use --upstream DIR)" in capsys.readouterr().err


def test_default_upstream_is_shared_upstream_beside_the_repository():
    assert vendor_upstream.DEFAULT_UPSTREAM == REPO.parent / "shared" / "upstream"

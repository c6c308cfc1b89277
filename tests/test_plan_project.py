"""Reading the project's stack files."""

from __future__ import annotations

import pytest
import yaml

from servestack.plan.project import ProjectError, load_project


def test_a_stack_file_libyaml_rejects_gets_the_pure_python_parsers_message(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: p\nruntime: python\nstackConfigDir: stacks\n")
    (tmp_path / "stacks").mkdir()
    text = "config:\n  aws:region: [us-east-1\n"
    (tmp_path / "stacks" / "Pulumi.dev.yaml").write_text(text)
    with pytest.raises(yaml.YAMLError) as expected:
        yaml.safe_load(text)
    with pytest.raises(ProjectError) as error:
        load_project(tmp_path).read_stack("dev")
    assert str(error.value) == f"stacks/Pulumi.dev.yaml is not valid YAML: {expected.value}"

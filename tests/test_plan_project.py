"""Reading the project's stack files."""

from __future__ import annotations

import pytest
import yaml

from servestack.plan.project import ProjectError, load_project


def test_a_stack_file_that_is_not_yaml_gets_one_line_naming_where(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: p\nruntime: python\nstackConfigDir: stacks\n")
    (tmp_path / "stacks").mkdir()
    text = "config:\n  aws:region: [us-east-1\n"
    (tmp_path / "stacks" / "Pulumi.dev.yaml").write_text(text)
    with pytest.raises(ProjectError) as error:
        load_project(tmp_path).read_stack("dev")
    assert str(error.value) == ("stacks/Pulumi.dev.yaml is not valid YAML: while parsing a flow sequence; line 2, column 15; "
                                "did not find expected ',' or ']'; line 3, column 1")

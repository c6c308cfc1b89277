"""The round-trip stack-file editor: edits keep everything they do not change, and a stack file is
changed only through update()."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import yaml
from ruamel.yaml.comments import CommentedMap

from servestack.stackio import stackfile

TEXT = """\
config:
  aws:region: us-east-1   # where the cluster is
  servestack:endpoints:
    iris:
      model:
        version: "1.0.0"   # trained 2026-10-01
        storageUri: s3://acme-models/models/iris/1.0.0

    # wine comes next
    wine:
      model: {version: "7", storageUri: s3://acme-models/models/wine/7}
"""


@dataclass
class Change:
    after: str


def edited(edit) -> str:
    document = stackfile.parse(TEXT, "stacks/Pulumi.dev.yaml")
    edit(document)
    return stackfile.render(document, TEXT)


def test_rendering_an_unchanged_document_gives_the_same_text():
    assert edited(lambda document: None) == TEXT


def test_a_key_put_on_an_endpoint_goes_before_the_blank_line_and_comment_that_follow_it():
    after = edited(lambda d: stackfile.put(stackfile.endpoint(d, "iris"), "rollout", CommentedMap(stage=1)))
    assert after == TEXT.replace("iris/1.0.0\n\n", "iris/1.0.0\n      rollout:\n        stage: 1\n\n")


def test_deleting_the_last_key_keeps_the_blank_line_and_comment_after_the_endpoint():
    started = TEXT.replace("iris/1.0.0\n\n", "iris/1.0.0\n      rollout:\n        stage: 1\n\n")
    document = stackfile.parse(started, "stacks/Pulumi.dev.yaml")
    stackfile.delete(stackfile.endpoint(document, "iris"), "rollout")
    assert stackfile.render(document, started) == TEXT


def test_replacing_a_value_drops_the_comment_that_described_the_old_one():
    after = edited(lambda d: stackfile.replace(stackfile.endpoint(d, "iris")["model"], "version", stackfile.scalar("1.1")))
    assert after == TEXT.replace('version: "1.0.0"   # trained 2026-10-01\n', 'version: "1.1"\n')


# the value replaced was double-quoted: a text value keeps its quotes; others are quoted to stay text
@pytest.mark.parametrize(("value", "written"), [("1.1.0", '"1.1.0"'), ("7", '"7"'), ("3.1", '"3.1"'), ("true", '"true"')])
def test_a_version_is_written_so_that_yaml_reads_it_back_as_text(value, written):
    after = edited(lambda d: stackfile.replace(stackfile.endpoint(d, "iris")["model"], "version", stackfile.scalar(value)))
    assert after == TEXT.replace('version: "1.0.0"   # trained 2026-10-01\n', f"version: {written}\n")
    assert yaml.safe_load(after)["config"]["servestack:endpoints"]["iris"]["model"]["version"] == value


@pytest.mark.parametrize(("text", "message"), [
    ("config: [a\n", "stacks/Pulumi.dev.yaml is not valid YAML: "),
    ("config:\n  a: 1\n  a: 2\n", "stacks/Pulumi.dev.yaml is not valid YAML: "),
    ("- config\n", "stacks/Pulumi.dev.yaml must be a mapping with a 'config:' mapping inside"),
    ("config: 3\n", "stacks/Pulumi.dev.yaml must be a mapping with a 'config:' mapping inside"),
])
def test_what_is_not_a_stack_file_is_refused_naming_the_file(text, message):
    with pytest.raises(stackfile.StackFileError) as error:
        stackfile.parse(text, "stacks/Pulumi.dev.yaml")
    assert str(error.value).startswith(message)


def test_update_writes_what_the_change_computes_from_the_current_text(tmp_path):
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text(TEXT)
    result = stackfile.update(path, "stacks/Pulumi.dev.yaml", lambda text: Change(text.replace("us-east-1", "eu-west-1")))
    assert path.read_text() == result.after == TEXT.replace("us-east-1", "eu-west-1")


def test_a_change_that_raises_leaves_the_file_as_it_was(tmp_path):
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text(TEXT)

    def refuse(text: str) -> Change:
        raise ValueError("no")

    with pytest.raises(ValueError):
        stackfile.update(path, "stacks/Pulumi.dev.yaml", refuse)
    assert path.read_text() == TEXT


def test_a_file_that_is_not_utf8_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_bytes(b"config:\n  a: \xff\n")
    with pytest.raises(stackfile.StackFileError) as error:
        stackfile.update(path, "stacks/Pulumi.dev.yaml", lambda text: Change(text))
    assert str(error.value) == "stacks/Pulumi.dev.yaml is not UTF-8 text (byte 0xff at offset 13)"
    assert path.read_bytes() == b"config:\n  a: \xff\n"

"""Credentials in clear in stack config: found by detect-secrets in every string of every section,
refused as config problems that name the field, and never printed.

The property test plants a credential of a known format (made fresh from random bytes, so never a
value the scanner was shown) into each string field of the config models (walked from the pydantic
schema, not listed by hand) and checks that parsing refuses it at that path without printing it.
"""

from __future__ import annotations

import base64
import copy
import functools
import hashlib
import json
import types
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from components.config import ConfigError
from components.config.base import join_path
from components.config.stack import StackConfig, parse_stack_config, section_keys
from harness import REPO, REPOSITORY_STACKS, stack_config
from servestack.cli import cli

ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def _random(seed: bytes, length: int, alphabet: str = ALNUM) -> str:
    """``length`` characters of ``alphabet`` drawn from ``seed`` through SHA-256 (random-looking
    whatever bytes hypothesis draws, zeros included)."""
    out, counter = "", 0
    while len(out) < length:
        digest = hashlib.sha256(seed + counter.to_bytes(4, "big")).digest()
        out += "".join(alphabet[b % len(alphabet)] for b in digest)
        counter += 1
    return out[:length]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _jwt(seed: bytes) -> str:
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64url(json.dumps({"sub": _random(seed, 10), "iat": 1516239022}).encode())
    return f"{header}.{payload}.{_b64url(hashlib.sha256(seed).digest())}"


def _private_key(seed: bytes) -> str:
    body = base64.b64encode(hashlib.sha512(seed).digest() * 3).decode()
    return f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----"


#: Known credential formats: name -> a maker from random bytes.
FORMATS = {
    "aws access key id": lambda s: "AKIA" + _random(s, 16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"),
    # a secret access key is 40 random base64 characters: known by its name (alone, random text it is)
    "aws secret access key": lambda s: "aws_secret_access_key=" + _random(s, 40, ALNUM + "/+"),
    "github token": lambda s: "ghp_" + _random(s, 36),
    "gitlab token": lambda s: "glpat-" + _random(s, 20),
    "slack bot token": lambda s: f"xoxb-{_random(s, 12, '0123456789')}-{_random(s + b'1', 13, '0123456789')}-{_random(s, 24)}",
    "stripe secret key": lambda s: "sk_live_" + _random(s, 24),
    "openai key": lambda s: "sk-proj-" + _random(s, 48),
    "hugging face token": lambda s: "hf_" + _random(s, 34),
    "npm token": lambda s: "npm_" + _random(s, 36),
    "jwt": _jwt,
    "private key": _private_key,
    "sendgrid key": lambda s: f"SG.{_random(s, 22)}.{_random(s + b'2', 43)}",
    "basic-auth url": lambda s: f"postgres://admin:{_random(s, 12)}@db.internal:5432/app",
}


def _accepts_str(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if annotation is str:
        return True
    if origin is typing.Literal:
        return any(isinstance(a, str) for a in typing.get_args(annotation))
    if origin is typing.Annotated:
        return _accepts_str(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return any(_accepts_str(a) for a in typing.get_args(annotation))
    return False


def string_paths(annotation: Any, loc: tuple = (), depth: int = 0) -> set[tuple]:
    """Every location of a string field under ``annotation``: keys of mappings keyed by name as
    ``name``, list items as index 0 (read from the pydantic schema)."""
    found: set[tuple] = set()
    if depth > 10:
        return found
    if _accepts_str(annotation):
        found.add(loc)
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return found | string_paths(typing.get_args(annotation)[0], loc, depth)
    if origin in (typing.Union, types.UnionType):
        for member in typing.get_args(annotation):
            found |= string_paths(member, loc, depth)
        return found
    if origin is dict:
        return found | string_paths(typing.get_args(annotation)[1], loc + ("name",), depth + 1)
    if origin in (list, tuple):
        return found | string_paths(typing.get_args(annotation)[0], loc + (0,), depth + 1)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, field in annotation.model_fields.items():
            found |= string_paths(field.annotation, loc + (field.alias or name,), depth + 1)
    return found


@functools.cache
def _stack(stack: str) -> dict[str, Any]:
    return stack_config(stack)


FIELDS = sorted(((key, loc) for key, name in section_keys().items()
                 for loc in string_paths(StackConfig.model_fields[name].annotation)), key=repr)


def planted(config: dict[str, Any], key: str, loc: tuple, value: str) -> dict[str, Any]:
    """``config`` with ``value`` at ``key`` + ``loc`` (creating what is missing on the way; a list
    too short is filled with ``"x"``)."""
    parent: Any = config
    for step, following in zip((key, *loc), (*loc, None)):
        last = following is None
        fresh: Any = value if last else ({} if isinstance(following, str) else [])
        if isinstance(step, int):
            while len(parent) <= step:
                parent.append("x")
            if last or not isinstance(parent[step], (dict, list)) or type(parent[step]) is not type(fresh):
                parent[step] = fresh
        elif last or not isinstance(parent.get(step), (dict, list)) or type(parent[step]) is not type(fresh):
            parent[step] = fresh
        parent = parent[step]
    return config


def test_the_walk_reaches_every_section_and_the_fields_the_issue_names():
    sections = {key for key, _ in FIELDS}
    # servestack:llmPresets is a free-form KServe spec (no typed string fields to walk); the scan reads its
    # strings like every section's, whatever model holds them.
    assert sections == set(section_keys()) - {"servestack:llmPresets"}
    paths = {join_path(key, loc) for key, loc in FIELDS}
    for expected in ("servestack:tags.name", "servestack:endpoints.name.model.env.name",
                     "servestack:endpoints.name.model.args[0]", "servestack:llmEndpoints.name.args[0]",
                     "servestack:endpoints.name.model.storageUri", "servestack:servingRuntimes.name.container.args[0]",
                     "servestack:endpoints.name.logger.url", "servestack:nodePools.name.labels.name",
                     "servestack:endpoints.name.rollout.candidate.storageUri", "servestack:cluster.adminRoleArns[0]"):
        assert expected in paths, sorted(paths)
    assert len(paths) > 100


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field=st.sampled_from(FIELDS), kind=st.sampled_from(sorted(FORMATS)), seed=st.binary(min_size=1, max_size=16),
       wrap=st.sampled_from(["{}", "--token={}", "Bearer {}", "x {} y"]), stack=st.sampled_from(["dev", "prod"]))
def test_a_credential_planted_in_any_string_field_is_refused_there_and_never_printed(field, kind, seed, wrap, stack):
    key, loc = field
    credential = FORMATS[kind](seed)
    value = wrap.format(credential)
    config = planted(copy.deepcopy(_stack(stack)), key, loc, value)
    with pytest.raises(ConfigError) as error:
        parse_stack_config(stack, config)
    text = str(error.value)
    path = join_path(key, loc)
    assert any(p.path == path and "looks like a credential" in p.message for p in error.value.problems), text
    for secret in {credential, value, *credential.split("\n"), *credential.split(":")[2:3]}:
        if len(secret) >= 8:
            assert secret not in text


# --- the CLI: the issue's examples and members it does not name --------------------------------------

def _with_credentials(config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """dev's config with credentials in many fields: config path -> the credential."""
    seed = b"cli"
    planted_at = {
        ("servestack:llmEndpoints", ("qwen-chat", "args", 2)): "--api-key=" + FORMATS["openai key"](seed),
        ("servestack:endpoints", ("chat", "model", "args", 4)): "--hf-token=" + FORMATS["hugging face token"](seed),
        ("servestack:endpoints", ("iris", "model", "env", "OPENAI_KEY")): FORMATS["openai key"](seed + b"2"),
        ("servestack:endpoints", ("iris", "model", "env", "GH_PAT")): FORMATS["github token"](seed),
        ("servestack:endpoints", ("iris", "model", "env", "DATABASE_URL")): FORMATS["basic-auth url"](seed),
        ("servestack:tags", ("aws-key",)): FORMATS["aws access key id"](seed),
        ("servestack:nodePools", ("gpu", "labels", "slack")): FORMATS["slack bot token"](seed),
        ("servestack:nodePools", ("gpu", "labels", "billing")): FORMATS["stripe secret key"](seed),
        ("servestack:endpoints", ("chat", "logger", "url")): "https://logger:" + FORMATS["npm token"](seed) + "@logs.acme.io",
        ("servestack:endpoints", ("chat", "model", "env", "SIGNING_KEY")): FORMATS["private key"](seed),
        ("servestack:endpoints", ("chat", "model", "env", "SESSION")): FORMATS["jwt"](seed),
        ("servestack:cluster", ("adminRoleArns", 1)): FORMATS["aws secret access key"](seed),
    }
    for (key, loc), value in planted_at.items():
        planted(config, key, loc, value)
    return config, {join_path(key, loc): value for (key, loc), value in planted_at.items()}


def _project(tmp_path: Path, config: dict[str, Any]) -> Path:
    (tmp_path / "Pulumi.yaml").write_text((REPO / "Pulumi.yaml").read_text() + f"main: {REPO}\n")
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "Pulumi.dev.yaml").write_text(yaml.safe_dump({"config": config}))
    return tmp_path


@pytest.mark.parametrize("command", [["plan"], ["check"], ["cost"]])
def test_plan_check_and_cost_refuse_every_credential_naming_its_field_and_print_none(tmp_path, command):
    config, expected = _with_credentials(stack_config("dev"))
    project = _project(tmp_path, config)
    result = CliRunner().invoke(cli, [*command, "--stack", "dev", "--project", str(project)])
    assert result.exit_code == 2, result.output
    refused = {line.split(": ", 1)[0].removeprefix("  - ") for line in result.output.splitlines()
               if "looks like a credential" in line}
    assert refused == set(expected)
    for value in expected.values():
        for part in {value, *value.split("=", 1)[1:], *value.split("\n")[1:2]}:
            assert part not in result.output
    assert not (project / "build").exists()


# --- no false positives -------------------------------------------------------------------------

@pytest.mark.parametrize("stack", REPOSITORY_STACKS)
def test_the_repository_stacks_hold_no_credential(stack):
    parse_stack_config(stack, stack_config(stack))


@pytest.mark.parametrize("key, loc, value", [
    ("servestack:endpoints", ("iris", "model", "storageUri"),
     "hf://meta-llama/Llama-3.1-8B-Instruct:0e9e39f249a16976918f6564b8830bc894c89659"),
    ("servestack:endpoints", ("iris", "model", "env", "MODEL_REVISION"), "0e9e39f249a16976918f6564b8830bc894c89659"),
    ("servestack:endpoints", ("iris", "model", "env", "IMAGE_DIGEST"),
     "sha256:6f1c8e0a9b2d4c7e5f3a1b9d8c6e4f2a0b7d5c3e1f9a8b6d4c2e0f7a5b3d1c9e"),
    ("servestack:endpoints", ("iris", "model", "env", "REQUEST_ID"), "1234abcd-12ab-34cd-56ef-1234567890ab"),
    ("servestack:endpoints", ("iris", "model", "env", "SECRET_NAME"), "$(MODEL_TOKEN)"),
    ("servestack:endpoints", ("iris", "model", "storageSecretName"), "model-store-secret"),
    ("servestack:endpoints", ("iris", "model", "args", 0), "--model-name=meta-llama/Llama-3.1-8B-Instruct"),
    ("servestack:tags", ("cost-center",), "arn:aws:iam::123456789012:role/ml-platform-admin"),
    ("servestack:nodePools", ("gpu", "labels", "example.com/source"), "acme-ml-models-dev.models.iris-1.3.0"),
])
def test_ids_digests_uris_and_references_are_not_credentials(key, loc, value):
    config = planted(stack_config("dev"), key, loc, value)
    try:
        parse_stack_config("dev", config)
    except ConfigError as error:
        assert not [p for p in error.problems if "looks like a credential" in p.message], str(error)


def test_a_low_entropy_password_is_found_by_its_name_and_in_a_url():
    config = stack_config("dev")
    planted(config, "servestack:endpoints", ("iris", "model", "env", "DB_PASSWORD"), "hunter22")
    planted(config, "servestack:endpoints", ("iris", "model", "args", 0), "--db-password")
    planted(config, "servestack:endpoints", ("iris", "model", "args", 1), "letmein99")
    planted(config, "servestack:endpoints", ("iris", "model", "env", "BROKER"), "amqp://guest:guest-pw@rabbit:5672")
    with pytest.raises(ConfigError) as error:
        parse_stack_config("dev", config)
    assert {p.path for p in error.value.problems} == {
        "servestack:endpoints.iris.model.env.DB_PASSWORD", "servestack:endpoints.iris.model.args[1]",
        "servestack:endpoints.iris.model.env.BROKER"}
    assert [p.value for p in error.value.problems] == ["[redacted]"] * 3
    for secret in ("hunter22", "letmein99", "guest-pw"):
        assert secret not in str(error.value)


def test_another_problem_at_the_same_field_does_not_print_the_credential_either():
    config = stack_config("dev")
    token = FORMATS["github token"](b"x")
    planted(config, "servestack:endpoints", ("iris", "model", "storageUri"), f"s3://Bad_Bucket/{token}")
    with pytest.raises(ConfigError) as error:
        parse_stack_config("dev", config)
    assert token not in str(error.value)
    assert [(p.path, p.value) for p in error.value.problems] == [
        ("servestack:endpoints.iris.model.storageUri", "[redacted]")] * 2

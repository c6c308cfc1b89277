"""Credentials written in clear into stack config, found by a secret scanner (detect-secrets), not by a
list of names.

Every string of a stack's config (any section, any field: env values, args, URLs, tags, labels,
annotations, images, hosts...) is scanned before anything else is checked, with every detector that
detect-secrets ships except the public-IP one (an address is not a credential):

- its provider detectors (AWS, GitHub, GitLab, Slack, Stripe, OpenAI, JWT, private keys, npm, PyPI,
  SendGrid, Twilio, Azure storage, Discord, Telegram, ...), on the string as written;
- its keyword detector, on the string as ``name = "value"`` where ``name`` is what the string is the
  value of: its key (an env variable, a label, an annotation, a tag) or the flag before it in an
  argument list (``--db-password``, ``secret``), ``-`` read as ``_``;
- its high-entropy detectors (base64 above 4.5 bits per character, hex above 3.0), on each run of
  base64 or hex characters in the string;
- credentials in a URL (``scheme://user:password@host``): its basic-auth detector, and the URL's own
  parse (:func:`urllib.parse.urlsplit`), which also reads a password the detector's pattern misses.

Content addresses are not credentials: a run of exactly 40 or 64 hex digits (a git commit, a SHA-256
digest such as an image's ``@sha256:...`` or a Hugging Face revision) and a UUID are left to the
provider and keyword detectors only. A finding is a config problem that names the field and the kind
of credential and never the value (:data:`REDACTED`); :func:`mask` removes every found value from
the other problems of the same config, so nothing found is printed anywhere.
"""

from __future__ import annotations

import functools
import json
import re
import types
import typing
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel

from .base import ConfigProblem, join_path

REDACTED = "[redacted]"
"""What a problem shows instead of a value that holds a credential."""

_IN_CLEAR = "which would be written in clear into the plan, the manifests and Pulumi's state"
_SECRET_REF = "put it in a Kubernetes Secret and reference it with secretKeyRef: {name, key}"
ADVICE = {
    "env": _SECRET_REF,
    "args": ("put it in a Kubernetes Secret, give it to the container as an env variable with secretKeyRef: "
             "{name, key}, and write $(VARIABLE) in the argument (Kubernetes expands it)"),
    "url": ("leave credentials out of the URL: KServe reads storage credentials from a Secret (storageSecretName) "
            "or the endpoint's IAM role, and a service reads its own from a Secret (secretKeyRef: {name, key})"),
    "other": ("remove it: this setting is not a place for a secret (stack config takes none, not even from pulumi "
              "config set --secret); " + _SECRET_REF),
}
"""What to do instead, by where the credential was found."""

#: detect-secrets' detectors that do not find credentials.
_NOT_CREDENTIALS = frozenset({"IPPublicDetector"})
_RUN = re.compile(r"[A-Za-z0-9+/_=-]{16,}")
_CONTENT_ADDRESS = re.compile(r"(?:[0-9a-fA-F]{40}|[0-9a-fA-F]{64})")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
_FLAG = re.compile(r"^-{1,2}([A-Za-z][A-Za-z0-9_.-]*)(?:=(.*))?$", re.S)
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'<>]+")
_KEYWORD_FILE = "stack.yaml"
_ENTROPY = frozenset({"Base64HighEntropyString", "HexHighEntropyString"})


#: Token formats of providers detect-secrets 1.5 has no detector for, as its own regex detectors:
#: secret type -> pattern (each provider documents the prefix of its keys).
EXTRA_FORMATS = {
    "Hugging Face Token": r"\bhf_[A-Za-z0-9]{30,}",  # huggingface.co/docs/hub/security-tokens
    "OpenAI or Anthropic Key": r"\bsk-(?:proj-|svcacct-|admin-|ant-[a-z0-9]+-)?[A-Za-z0-9_-]{32,}",
    "Google API Key": r"\bAIza[0-9A-Za-z_-]{35}",
    "npm Access Token": r"\bnpm_[A-Za-z0-9]{36}",  # github.blog 2021-09-23, new npm access token format
    "GitHub Fine-grained Token": r"\bgithub_pat_[A-Za-z0-9_]{22,}",
}


@functools.cache
def _detectors() -> tuple[Any, ...]:
    """One instance of each of detect-secrets' detectors (its own list, so a new release's new
    detectors are used as they come), and one regex detector per :data:`EXTRA_FORMATS`."""
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.plugins.base import RegexBasedDetector

    extra = [type(kind.title().replace(" ", "") + "Detector", (RegexBasedDetector,),
                  {"secret_type": kind, "denylist": (re.compile(pattern),)})
             for kind, pattern in EXTRA_FORMATS.items()]
    classes = [cls for cls in get_mapping_from_secret_type_to_class().values() if cls.__name__ not in _NOT_CREDENTIALS]
    return tuple(sorted((cls() for cls in classes + extra), key=lambda d: type(d).__name__))


@functools.lru_cache(maxsize=4096)
def credential_kinds(text: str, name: str | None = None) -> tuple[tuple[str, str], ...]:
    """The credentials in ``text`` (the value of ``name``, when it has one) as (kind, found text),
    in a stable order; empty when there is none. Remembered: YAML aliases repeat one string many
    times (a 4 KiB file can hold 10,000 copies), and each is scanned once."""
    found: dict[str, str] = {}
    lines = [text]
    if name:
        lines.append(f'{name.replace("-", "_")} = "{text}"')
    lines += [f'"{run}"' for run in _RUN.findall(text)]
    for detector in _detectors():
        kind = type(detector).__name__
        for line in lines:
            for secret in detector.analyze_line(filename=_KEYWORD_FILE, line=line):
                value = secret.secret_value or ""
                if _ignored(kind, value):
                    continue
                found.setdefault(value, secret.type)
    for run in _RUN.findall(text):
        if run not in found and _random_looking(run):
            found[run] = "Base64 High Entropy String"
    for url in _URL.findall(text):
        try:
            password = urlsplit(url).password
        except ValueError:
            continue
        if password:
            found.setdefault(password, "Basic Auth Credentials")
    return tuple(sorted(((kind, value) for value, kind in found.items()), key=lambda item: (item[0], item[1])))


def _random_looking(run: str) -> bool:
    """A run of 20+ characters that mixes upper case, lower case and digits as random text does (the
    class changes at 45% or more of its positions; words and identifiers change far less) with an
    entropy above 3.5 bits (detect-secrets' measure). Its base64 detector's 4.5 alone misses about
    half of the random 30-character tokens and 2% of the 40-character AWS secret keys; together they
    miss under 1% and 0.03%, and find nothing in the repository's stacks, data and tests."""
    if len(run) < 20 or _identifier(run) or not (re.search("[A-Z]", run) and re.search("[a-z]", run) and re.search("[0-9]", run)):
        return False
    classes = ["u" if c.isupper() else "l" if c.islower() else "d" if c.isdigit() else "o" for c in run]
    changes = sum(a != b for a, b in zip(classes, classes[1:])) / (len(run) - 1)
    entropy = next(d for d in _detectors() if type(d).__name__ == "Base64HighEntropyString")
    return changes >= 0.45 and entropy.calculate_shannon_entropy(run) > 3.5


#: A name made of short words: ``deepseek-ai/DeepSeek-Coder-V2-Lite-Instruct``, ``RedHatAI/gpt-oss-20b``
#: (Hugging Face repository ids, image paths, model names). Random tokens have few separators and long runs.
_WORDS = re.compile(r"/*[A-Za-z0-9]{1,15}(?:[-_./][A-Za-z0-9]{1,15}){2,}(?::(?:[0-9a-f]{40}|[0-9a-f]{64}))?")


def _identifier(value: str) -> bool:
    return bool(_WORDS.fullmatch(value))


def _ignored(kind: str, value: str) -> bool:
    if not value.strip():
        return True
    if kind in _ENTROPY:
        return bool(_CONTENT_ADDRESS.fullmatch(value) or _UUID.fullmatch(value) or _identifier(value))
    if kind == "KeywordDetector":
        # a reference, not a value: $(VAR) / ${VAR} of Kubernetes, or a secretKeyRef's own key name
        return value.startswith("$")
    return False


def _strings(node: Any, loc: tuple[Any, ...], schema: Any) -> Iterator[tuple[tuple[Any, ...], str, str | None]]:
    """Every string in a config value: (its location, the string, the name it is the value of).

    A name is one the user chose (an env variable, a label, an annotation, a tag: a key of a mapping
    the schema keys by name) or the flag before a value in a list (``--db-password VALUE``); a field of
    the schema (``storageSecretName``: the name of a Secret) is servestack's word, not a hint."""
    if isinstance(node, dict):
        if set(node) == {"secure"}:
            return  # a Pulumi secret's ciphertext: refused where it stands, with its own reason
        for key, value in node.items():
            child, chosen = _child(schema, key, value)
            if isinstance(value, str):
                yield loc + (key,), value, str(key) if chosen else None
            else:
                yield from _strings(value, loc + (key,), child)
    elif isinstance(node, list):
        item = _member(schema, list)
        previous: str | None = None
        for index, value in enumerate(node):
            if isinstance(value, str):
                flag = _FLAG.match(value)
                if flag and flag.group(2) is not None:  # --api-key=VALUE
                    yield loc + (index,), flag.group(2), flag.group(1)
                    yield loc + (index,), value, None
                else:
                    yield loc + (index,), value, previous
                previous = flag.group(1) if flag and flag.group(2) is None else None
            else:
                previous = None
                yield from _strings(value, loc + (index,), item)
    elif isinstance(node, str):
        yield loc, node, None


def _child(schema: Any, key: Any, value: Any) -> tuple[Any, bool]:
    """The schema of ``schema[key]`` and whether ``key`` is a name the user chose (unknown: yes)."""
    model = _member(schema, BaseModel, value)
    if model is not None:
        field = next((f for n, f in model.model_fields.items() if (f.alias or n) == key), None)
        return (field.annotation, False) if field is not None else (None, True)
    mapping = _member(schema, dict, value)
    return (typing.get_args(mapping)[-1] if typing.get_args(mapping) else None), True


def _member(schema: Any, kind: type, value: Any = None) -> Any:
    """The member of ``schema`` (through Optional, Annotated and unions) that is a ``kind``: a model
    class for BaseModel, ``dict[K, V]``/``list[X]`` (or their item type for list) otherwise."""
    pending, seen = [schema], 0
    while pending and seen < 50:
        current, seen = pending.pop(0), seen + 1
        origin = typing.get_origin(current)
        if origin is typing.Annotated:
            pending.append(typing.get_args(current)[0])
        elif origin in (typing.Union, types.UnionType):
            pending += list(typing.get_args(current))
        elif kind is BaseModel and isinstance(current, type) and issubclass(current, BaseModel):
            return current
        elif kind is dict and origin is dict:
            return current
        elif kind is list and origin in (list, tuple):
            return typing.get_args(current)[0] if typing.get_args(current) else None
    return None


def _advice(loc: tuple[Any, ...], text: str) -> str:
    fields = [part for part in loc if isinstance(part, str)]
    if len(fields) >= 2 and fields[-2] == "env":
        return ADVICE["env"]
    if loc and isinstance(loc[-1], int) and fields and fields[-1] in ("args", "command"):
        return ADVICE["args"]
    if _URL.search(text):
        return ADVICE["url"]
    return ADVICE["other"]


def scan(raw: dict[str, Any], schemas: dict[str, Any]) -> tuple[list[ConfigProblem], frozenset[str]]:
    """The config problems of every credential in ``raw`` (config key -> decoded value, read by the
    schema in ``schemas`` under the same key), and the texts found (to be masked wherever another
    problem would quote them)."""
    problems: list[ConfigProblem] = []
    found: set[str] = set()
    for key in sorted(raw):
        by_path: dict[str, tuple[set[str], str]] = {}
        for loc, text, name in _strings(raw[key], (), schemas.get(key)):
            kinds = credential_kinds(text, name)
            if kinds:
                entry = by_path.setdefault(join_path(key, loc), (set(), _advice(loc, text)))
                entry[0].update(kind for kind, _ in kinds)
                found.update([text, *(value for _, value in kinds)])  # the whole field, and each finding
        for path, (kinds, advice) in sorted(by_path.items()):
            problems.append(ConfigProblem(path, f"holds what looks like a credential ({', '.join(sorted(kinds))}), "
                                                f"{_IN_CLEAR}: {advice}", REDACTED))
    return problems, frozenset(found)


def mask(problems: list[ConfigProblem], found: frozenset[str], paths: frozenset[str]) -> list[ConfigProblem]:
    """``problems`` with every found credential replaced by :data:`REDACTED` wherever it would be
    printed (message or value), and the value of any problem at a path that holds one redacted."""
    if not found:
        return problems
    texts = sorted(_spellings(found), key=len, reverse=True)

    def clean(text: str) -> str:
        for secret in texts:
            text = text.replace(secret, REDACTED)
        return text

    masked = []
    for problem in problems:
        value = problem.value
        if isinstance(value, str | list | dict) and (problem.path in paths or _contains(value, texts)):
            value = REDACTED
        masked.append(ConfigProblem(clean(problem.path), clean(problem.message), value))
    return masked


_PIECES = re.compile(r"[\s.:/@=,;'\"()\[\]{}]+")


def _spellings(found: frozenset[str]) -> set[str]:
    """Each found text as a message may quote it: whole or in the pieces a message cuts it into
    (an instance family is the text before its first dot), as written or escaped (repr, JSON)."""
    spelled = set()
    for text in found:
        for piece in {text, *_PIECES.split(text)}:
            if piece == text or len(piece) >= 8:
                spelled |= {piece, piece.encode("unicode_escape").decode("ascii"), json.dumps(piece)[1:-1]}
    return {s for s in spelled if s}


def _contains(value: Any, texts: list[str]) -> bool:
    if isinstance(value, str):
        return any(text in value for text in texts)
    if isinstance(value, dict):
        return any(_contains(k, texts) or _contains(v, texts) for k, v in value.items())
    if isinstance(value, list):
        return any(_contains(v, texts) for v in value)
    return False

"""The Pulumi project on disk: ``Pulumi.yaml`` and the stack files under ``stackConfigDir``."""

from __future__ import annotations

import errno
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.config.stack import SECRET_MASK

from ..stackio.stackyaml import StackYamlError, one_line, read_stack_yaml


class ProjectError(Exception):
    """The project or stack files cannot be read (missing, not YAML, wrong shape)."""


@dataclass(frozen=True)
class StackFile:
    """A stack's config as the Pulumi CLI would hand it to the program."""

    name: str
    path: Path
    config: dict[str, str]
    """Config key -> value as Pulumi passes it: strings, structured values as JSON text."""
    decoded: dict[str, Any]
    """The same values as YAML gave them (objects stay objects), secrets masked."""
    secret_keys: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Project:
    root: Path
    name: str
    stack_dir: Path
    main: Path

    def stack_path(self, stack: str) -> Path:
        return self.stack_dir / f"Pulumi.{stack}.yaml"

    def stacks(self) -> list[str]:
        """The stacks whose file is a file (through symbolic links): what a command can read."""
        return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in self.stack_dir.glob("Pulumi.*.yaml") if p.is_file())

    def missing_stack(self, stack: str) -> str | None:
        """Why ``stack`` has no stack file to read (one line), or None when it has one."""
        path = self.stack_path(stack)
        if path.is_file():
            return None
        shown = path.relative_to(self.root)
        known = ", ".join(self.stacks()) or "none"
        if path.is_symlink():
            try:
                path.resolve(strict=True)
            except RuntimeError:  # Python 3.11-3.12 raise it for a loop, 3.13 an OSError
                return one_line(f"stack file {shown} is a symbolic link that loops (stacks here: {known})")
            except OSError as error:
                if error.errno == errno.ELOOP:
                    return one_line(f"stack file {shown} is a symbolic link that loops (stacks here: {known})")
                return one_line(f"stack file {shown} is a symbolic link to {os.readlink(path)}, which does not exist "
                                f"(stacks here: {known})")
        if path.is_dir():
            return f"stack file {shown} is a directory, not a file (stacks here: {known})"
        if path.exists():
            return f"stack file {shown} is not a regular file (stacks here: {known})"
        return f"no stack file {shown} (stacks here: {known})"

    def read_stack(self, stack: str) -> StackFile:
        path = self.stack_path(stack)
        missing = self.missing_stack(stack)
        if missing is not None:
            raise ProjectError(missing)
        try:
            document = read_stack_yaml(path, str(path.relative_to(self.root))) or {}
        except StackYamlError as error:
            raise ProjectError(str(error)) from None
        if not isinstance(document, dict) or not isinstance(document.get("config") or {}, dict):
            raise ProjectError(f"{path.relative_to(self.root)} must be a mapping with a 'config:' mapping inside")
        return self.stack_from_config(stack, document.get("config") or {}, path)

    def stack_from_config(self, stack: str, values: dict[str, Any], path: Path | None = None) -> StackFile:
        """A stack whose config is given as the ``config:`` mapping of a stack file would hold it."""
        config, decoded, secrets = {}, {}, set()
        for key, value in values.items():
            key = str(key)
            if ":" not in key:
                key = f"{self.name}:{key}"  # Pulumi reads an unqualified key as the project's own
            masked, had_secret = _mask_secrets(value)
            if had_secret:
                secrets.add(key)
            decoded[key] = masked
            config[key] = _as_pulumi_string(masked)
        return StackFile(stack, path or self.stack_path(stack), config, decoded, frozenset(secrets))


def _mask_secrets(value: Any) -> tuple[Any, bool]:
    """Replace every ``{secure: ...}`` by the mask: ciphertext cannot be decrypted offline."""
    if isinstance(value, dict):
        if "secure" in value:  # {secure: <ciphertext>}, also with notes beside it: never shown, in clear or not
            return SECRET_MASK, True
        items = [(k, *_mask_secrets(v)) for k, v in value.items()]
        return {k: v for k, v, _ in items}, any(s for _, _, s in items)
    if isinstance(value, list):
        items = [_mask_secrets(v) for v in value]
        return [v for v, _ in items], any(s for _, s in items)
    return value, False


def _as_pulumi_string(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def load_project(root: Path | str = ".") -> Project:
    root = Path(root).resolve()
    manifest = root / "Pulumi.yaml"
    if not manifest.is_file():
        raise ProjectError(f"no Pulumi.yaml in {root}: run servestack from the project directory or pass --project")
    try:
        document = read_stack_yaml(manifest, "Pulumi.yaml") or {}
    except StackYamlError as error:
        raise ProjectError(str(error)) from None
    if not isinstance(document, dict):
        raise ProjectError("Pulumi.yaml must be a mapping with a 'name'")
    name = document.get("name")
    if not name:
        raise ProjectError("Pulumi.yaml has no 'name'")
    for key in ("main", "stackConfigDir"):
        if not isinstance(document.get(key, ""), str):
            raise ProjectError(one_line(f"Pulumi.yaml: {key} must be a path (got {document[key]!r})"))
    main = root / document.get("main", ".")
    if main.is_dir():
        main = main / "__main__.py"
    return Project(root, str(name), root / document.get("stackConfigDir", "."), main)

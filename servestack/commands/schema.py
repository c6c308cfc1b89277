"""``servestack schema``: the stack file's JSON Schema and reference page, generated from the config models.

The committed copies (``docs/stack-file.schema.json``, ``docs/configuration.md``) are what editors and
readers use; ``--write`` rewrites them after a config model changes, ``--check`` exits 1 while they are
stale (a test runs the same comparison).
"""

from __future__ import annotations

from pathlib import Path

import click

from .common import EXIT_FAILED, project_option

#: The committed copies, relative to the project.
SCHEMA_FILE = Path("docs/stack-file.schema.json")
REFERENCE_FILE = Path("docs/configuration.md")


def generated() -> dict[Path, str]:
    from components.config.schema import reference_markdown, schema_text

    return {SCHEMA_FILE: schema_text(), REFERENCE_FILE: reference_markdown()}


@click.command("schema")
@click.option("--format", "output_format", type=click.Choice(["json", "markdown"]), default="json", show_default=True,
              help="json: the JSON Schema of a stack file; markdown: the reference page of every setting.")
@click.option("--write", is_flag=True, help="Rewrite docs/stack-file.schema.json and docs/configuration.md.")
@click.option("--check", is_flag=True, help="Exit 1 when the committed copies differ from the config models.")
@project_option
def schema_command(output_format: str, write: bool, check: bool, project_dir: Path) -> None:
    """The stack file's JSON Schema (or reference page), generated from the config models."""
    files = generated()
    if check:
        stale = [str(path) for path, text in files.items()
                 if not (project_dir / path).is_file() or (project_dir / path).read_text() != text]
        if stale:
            click.echo(f"stale: {', '.join(stale)} (run: servestack schema --write)", err=True)
            raise SystemExit(EXIT_FAILED)
        click.echo("docs/stack-file.schema.json and docs/configuration.md match the config models")
        return
    if write:
        for path, text in files.items():
            (project_dir / path).parent.mkdir(parents=True, exist_ok=True)
            (project_dir / path).write_text(text)
            click.echo(f"wrote {path}")
        return
    click.echo(files[SCHEMA_FILE if output_format == "json" else REFERENCE_FILE], nl=False)

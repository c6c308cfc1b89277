"""Derive servestack's conformance data from the upstream projects' own files.

The one script that reads the upstream reference files (default: ``../shared/upstream`` beside
the repository, i.e. ``<repository's parent>/shared/upstream``; ``--upstream DIR`` overrides it)
and writes compact, deterministic copies into the project, each with its provenance (upstream
repository, tag or commit, paths inside upstream, license, ``generatedBy``):

- ``components/data/upstream/``: data the program needs at run time (package data): KServe's
  built-in (Cluster)ServingRuntimes per KServe version servestack installs;
- ``tests/conformance/data/``: data only the conformance tests read.

Nothing else in the project reads ``../shared``; a fresh clone tests with the derived copies.
Run it again whenever a pin in ``components/versions.py`` moves:

    .venv/bin/python tools/vendor_upstream.py            # (re)write every derived file
    .venv/bin/python tools/vendor_upstream.py --check    # exit 1 if a committed file differs

Every output is JSON with sorted keys and a trailing newline, so a re-run reproduces the
committed files byte for byte.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import yaml

REPO = Path(__file__).resolve().parent.parent
DEFAULT_UPSTREAM = REPO.parent / "shared" / "upstream"
RUNTIME_DATA = Path("components/data/upstream")
TEST_DATA = Path("tests/conformance/data")
GENERATED_BY = "tools/vendor_upstream.py"
LICENSE = "Apache-2.0"

KSERVE_REPO = "https://github.com/kserve/kserve"


@dataclass(frozen=True)
class Source:
    """Where one derived file comes from."""

    repository: str
    ref: str
    """The tag (or commit) of the upstream files, as the folder under ``shared/upstream`` names it."""
    folder: str
    """The folder under ``shared/upstream`` holding the files of that ref."""
    commit: str | None = None


def provenance(source: Source, paths: list[str], **extra: Any) -> dict[str, Any]:
    """The provenance block every derived file carries: ``paths`` are paths inside the upstream
    repository at ``ref``; ``vendoredAs`` is the folder of ``shared/upstream`` they were read from."""
    block: dict[str, Any] = {
        "repository": source.repository,
        "ref": source.ref,
        "vendoredAs": source.folder,
        "paths": sorted(paths),
        "license": LICENSE,
        "generatedBy": GENERATED_BY,
    }
    if source.commit:
        block["commit"] = source.commit
    block.update(extra)
    return block


def dump(data: Any) -> str:
    """The one serialization of derived data: sorted keys, one-space indent, trailing newline."""
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=True) + "\n"


def load_yaml_documents(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc]


# --- KServe built-in runtimes (runtime data) ----------------------------------------------------

#: Runtime files present in upstream's ``config/runtimes/`` that the KServe release does NOT
#: install, with the reason (checked in kserve/kserve at the tag: ``config/runtimes/
#: kustomization.yaml`` and the ``kserve-runtime-configs`` chart's ``files/runtimes/resources.yaml``).
NOT_INSTALLED: dict[str, dict[str, str]] = {
    "v0.20.0": {
        "kserve-openvino.yaml": "not listed in config/runtimes/kustomization.yaml nor rendered by the "
                                "kserve-runtime-configs chart at v0.20.0",
    },
    "v0.16.0": {},
}

#: The KServe versions servestack installs: the standalone charts (components/versions.py
#: KSERVE_*) and the KServe bundled by Kubeflow (KUBEFLOW_KSERVE).
KSERVE_RUNTIME_VERSIONS = ("v0.16.0", "v0.20.0")


def _runtime_entry(doc: dict[str, Any]) -> dict[str, Any]:
    spec = doc.get("spec", {})
    formats = []
    for fmt in spec.get("supportedModelFormats", []):
        formats.append({
            "name": fmt["name"],
            "version": None if fmt.get("version") is None else str(fmt["version"]),
            "autoSelect": bool(fmt.get("autoSelect", False)),
            "priority": fmt.get("priority"),
        })
    annotations = (doc.get("metadata") or {}).get("annotations") or {}
    return {
        "name": doc["metadata"]["name"],
        "kind": doc["kind"],
        "supportedModelFormats": formats,
        # KServe sets no default for a runtime's protocolVersions: an empty list means the runtime
        # accepts every protocol (ServingRuntimeSpec.IsProtocolVersionSupported); kept as declared.
        "protocolVersions": [str(p) for p in spec.get("protocolVersions") or []],
        "multiModel": bool(spec.get("multiModel", False)),
        "multiNode": spec.get("workerSpec") is not None,
        "disabled": bool(spec.get("disabled", False)),
        "serverType": annotations.get("serving.kserve.io/server-type"),
    }


def derive_kserve_runtimes(upstream: Path, version: str) -> tuple[Path, dict[str, Any]]:
    folder = f"kserve/{version}"
    runtime_dir = upstream / folder / "runtimes"
    paths, runtimes = [], []
    skipped = NOT_INSTALLED.get(version, {})
    for path in sorted(runtime_dir.glob("*.yaml")):
        if path.name in skipped:
            continue
        paths.append(f"config/runtimes/{path.name}")
        for doc in load_yaml_documents(path):
            if doc.get("kind") in ("ClusterServingRuntime", "ServingRuntime"):
                runtimes.append(_runtime_entry(doc))
    if not runtimes:
        raise SystemExit(f"no runtimes found under {runtime_dir}")
    runtimes.sort(key=lambda r: r["name"])
    data = {
        "provenance": provenance(Source(KSERVE_REPO, version, folder), paths,
                                 notInstalled={f"config/runtimes/{k}": v for k, v in sorted(skipped.items())}),
        "kserveVersion": version,
        "runtimes": runtimes,
    }
    return RUNTIME_DATA / f"kserve-runtimes-{version}.json", data


# --- the derivations ----------------------------------------------------------------------------

Derivation = Callable[[Path], tuple[Path, dict[str, Any]]]


def derivations() -> list[Derivation]:
    found: list[Derivation] = []
    for version in KSERVE_RUNTIME_VERSIONS:
        found.append(lambda upstream, v=version: derive_kserve_runtimes(upstream, v))
    return found


def render_all(upstream: Path) -> dict[Path, str]:
    """Every derived file (path relative to the repository) and its exact text."""
    out: dict[Path, str] = {}
    for derive in derivations():
        relpath, data = derive(upstream)
        if relpath in out:
            raise SystemExit(f"two derivations write {relpath}")
        out[relpath] = dump(data)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--upstream", type=Path, default=DEFAULT_UPSTREAM,
                        help=f"the upstream reference folder (default: {DEFAULT_UPSTREAM})")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 when a committed derived file differs from what would be written")
    args = parser.parse_args(argv)
    if not args.upstream.is_dir():
        print(f"vendor_upstream: upstream folder {args.upstream} does not exist (use --upstream DIR)", file=sys.stderr)
        return 2
    rendered = render_all(args.upstream)
    stale = []
    for relpath, text in sorted(rendered.items()):
        target = REPO / relpath
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if current == text:
            continue
        stale.append(relpath)
        if not args.check:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    if args.check:
        for relpath in stale:
            print(f"vendor_upstream: {relpath} differs from what {args.upstream} derives", file=sys.stderr)
        print(f"{len(rendered) - len(stale)}/{len(rendered)} derived files up to date")
        return 1 if stale else 0
    print(f"wrote {len(stale)} of {len(rendered)} derived files ({len(rendered) - len(stale)} unchanged)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

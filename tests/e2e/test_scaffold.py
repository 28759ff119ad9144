"""The scaffolder: `event-importer integration new NAME` in a copy of the repository yields an integration
that passes lint, type checks and the tests that hold every integration to the framework.

The copy gets the integration's entry point the way an install would give it
(a distribution's ``entry_points.txt`` on the path), since the checkout's own
install only knows the integrations it was installed with.  What runs there:
ruff and mypy over the generated files (mypy following what they import; the
scaffolder changes no other Python file), the generated tests, the contract
suite for the new integration, the registry's tests, the template's tests
(cfn-lint, every integration has its queue, DLQ and submit function fed by
fan-out, the operators know its queues), and its sample event through its
handler.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from infra.scaffold import ScaffoldError, scaffold
from tests.conftest import ROOT

pytestmark = pytest.mark.e2e

NAME = "ticket_shop"
BIN = Path(sys.executable).parent
#: The Python files the scaffolder writes (its other edits are to pyproject.toml, template.yaml and the Makefile).
GENERATED = [
    "integrations/ticket_shop",
    "tests/unit/test_ticket_shop_client.py",
    "tests/unit/test_ticket_shop_transformer.py",
    "tests/destinations/ticket_shop.py",
]


def tracked_files() -> list[str]:
    # Tracked files and new ones not ignored: the working tree as it would be committed.
    command = ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    listed = subprocess.run(command, cwd=ROOT, capture_output=True, check=True)
    return [name for name in listed.stdout.decode().split("\0") if name and (ROOT / name).is_file()]


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the repository's files (as git tracks them) with the integration written into it."""
    root = tmp_path_factory.mktemp("repo")
    for name in tracked_files():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, root / name)
    if (ROOT / ".mypy_cache").is_dir():  # warm start: mypy re-checks only what changed
        shutil.copytree(ROOT / ".mypy_cache", root / ".mypy_cache")
    result = subprocess.run(
        [str(BIN / "event-importer"), "integration", "new", NAME, "--root", str(root)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return root


def run(copy: Path, *command: str) -> subprocess.CompletedProcess[str]:
    """``command`` in the copy, with the copy's code and entry points first on the path."""
    group = tomllib.loads((copy / "pyproject.toml").read_text())["project"]["entry-points"]
    entry_points = "".join(f"{k} = {v}\n" for k, v in group["event_importer.integrations"].items())
    metadata = copy.parent / f"{copy.name}-site" / "event_importer_copy-0.0.dist-info"
    metadata.mkdir(parents=True, exist_ok=True)
    (metadata / "METADATA").write_text("Metadata-Version: 2.1\nName: event-importer-copy\nVersion: 0.0\n")
    (metadata / "entry_points.txt").write_text(f"[event_importer.integrations]\n{entry_points}")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(copy), str(metadata.parent)])}
    return subprocess.run(list(command), cwd=copy, env=env, capture_output=True, text=True, check=False)


def test_the_scaffolder_writes_every_piece(copy: Path) -> None:
    for path in (
        "integrations/ticket_shop/base.py",
        "integrations/ticket_shop/client.py",
        "integrations/ticket_shop/routes.py",
        "tests/unit/test_ticket_shop_client.py",
        "tests/destinations/ticket_shop.py",
        "events/TicketShopSubmitFunction/sqs-message.json",
    ):
        assert (copy / path).is_file(), path
    assert (
        'ticket_shop = "integrations.ticket_shop.base:TicketShopIntegration"' in (copy / "pyproject.toml").read_text()
    )
    template = (copy / "template.yaml").read_text()
    assert "TicketShopSubmitFunction:" in template
    assert template.count('"ticket_shop": "${TicketShopQueueUrl}"') == 3
    assert template.count('"ticket_shop": "${TicketShopDeadLetterQueueUrl}"') == 2
    assert "build-TicketShopSubmitFunction:" in (copy / "Makefile").read_text()


def test_the_generated_integration_is_lint_and_type_clean(copy: Path) -> None:
    for command in (["ruff", "check"], ["ruff", "format", "--check"], ["mypy"]):
        result = run(copy, str(BIN / command[0]), *command[1:], *GENERATED)
        assert result.returncode == 0, result.stdout + result.stderr


def test_the_generated_integration_passes_its_own_and_the_frameworks_tests(copy: Path) -> None:
    result = run(
        copy,
        *(str(BIN / "pytest"), "-q", "-p", "no:cacheprovider"),
        # Every test named below, but of the contract suite only the new integration's.
        *("-k", "not test_contract or ticket_shop", "-rA"),
        "tests/unit/test_ticket_shop_client.py",
        "tests/unit/test_ticket_shop_transformer.py",
        "tests/unit/test_registry.py",
        "tests/integration/test_contract.py",
        "tests/integration/test_template.py",
        "tests/integration/test_sample_events.py::test_every_function_has_a_sample_event",
        "tests/integration/test_sample_events.py::test_sample_event_runs_through_its_handler[TicketShopSubmitFunction/sqs-message.json]",
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
    # The contract ran for the new integration (the others' contract tests are deselected).
    assert f"PASSED tests/integration/test_contract.py::test_updates_and_deletes_behave_as_declared[{NAME}]" in (
        result.stdout
    )


def test_a_name_in_use_or_unusable_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    for name in ("ticketfairy", "Bad-Name", "class", "x"):
        with pytest.raises(ScaffoldError):
            scaffold(ROOT, name)
    assert not (ROOT / "integrations" / "x").exists()

"""Writes a new integration into a checkout: its package, tests, sample event, entry point and template block.

Everything the registry, the template tests, the build and the local runtime
need is written or edited here, so the new integration passes lint, type
checks and the tests as generated:

* ``integrations/<name>/``: base, config, selectors, transformer, client,
  submitter, and (unless ``interfaces=False``) routes, cli and mcp_tools;
* ``tests/unit/test_<name>_transformer.py`` and ``test_<name>_client.py``;
* ``tests/destinations/<name>.py``: its scripted destination for the contract suite;
* ``events/<Camel>SubmitFunction/sqs-message.json``;
* ``pyproject.toml``: the entry point and an (empty) extra named after it;
* ``template.yaml``: parameters, a condition, the block (queue, DLQ, log
  group, submit function, queue access, alarms), its queues in every
  ``INTEGRATION_QUEUES`` / ``DEAD_LETTER_QUEUES`` map, and its outputs;
* ``Makefile``: ``build-<Camel>SubmitFunction``, and the integration added to
  the operators' functions' builds.

Edits are textual and anchored on lines the files are known to have; a
missing anchor is a ``ScaffoldError`` before anything is written.
"""

from __future__ import annotations

import importlib.util
import json
import keyword
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from infra.scaffold import package, template_block

__all__ = ["IntegrationNames", "ScaffoldError", "scaffold"]

_NAME = re.compile(r"^[a-z][a-z0-9_]{1,30}[a-z0-9]$")
_RESERVED = {"base", "registry", "selectors", "errors", "env", "event_data", "operations", "ports", "records"}


class ScaffoldError(ValueError):
    """The name is unusable, the integration exists, or a file lacks the line an edit is anchored on."""


@dataclass(frozen=True)
class IntegrationNames:
    """The spellings of one integration's name."""

    name: str  # my_service: package, queue, records
    camel: str  # MyService: template logical ids
    title: str  # My Service: messages
    prefix: str  # MY_SERVICE_: environment variables

    @classmethod
    def of(cls, name: str) -> IntegrationNames:
        if not _NAME.match(name) or "__" in name or keyword.iskeyword(name) or name in _RESERVED:
            raise ScaffoldError(
                f"{name!r} is not a usable integration name: lower-case letters, digits and single "
                "underscores, 3-32 characters, starting with a letter"
            )
        parts = name.split("_")
        return cls(name, "".join(p.title() for p in parts), " ".join(p.title() for p in parts), name.upper() + "_")

    def fill(self, text: str) -> str:
        for placeholder, value in (
            ("<<name>>", self.name),
            ("<<Camel>>", self.camel),
            ("<<Title>>", self.title),
            ("<<PREFIX>>", self.prefix),
        ):
            text = text.replace(placeholder, value)
        return text


def scaffold(root: Path, name: str, *, interfaces: bool = True) -> list[Path]:
    """Write integration ``name`` into the checkout at ``root``; return the files written or changed."""
    names = IntegrationNames.of(name)
    directory = root / "integrations" / names.name
    if directory.exists():
        raise ScaffoldError(f"integrations/{names.name} exists already")
    function = f"{names.camel}SubmitFunction"
    files: dict[Path, str] = {
        directory / "__init__.py": "",
        directory / "base.py": package.BASE,
        directory / "config.py": package.CONFIG,
        directory / "selectors.py": package.SELECTORS,
        directory / "transformer.py": package.TRANSFORMER,
        directory / "client.py": package.CLIENT,
        directory / "submitter.py": package.SUBMITTER,
        root / "tests" / "unit" / f"test_{names.name}_transformer.py": package.TEST_TRANSFORMER,
        root / "tests" / "unit" / f"test_{names.name}_client.py": package.TEST_CLIENT,
        root / "tests" / "destinations" / f"{names.name}.py": package.DESTINATION,
    }
    if interfaces:
        files |= {
            directory / "routes.py": package.ROUTES,
            directory / "cli.py": package.CLI,
            directory / "mcp_tools.py": package.MCP_TOOLS,
        }
    contents = {path: names.fill(text) for path, text in files.items()}
    contents[root / "events" / function / "sqs-message.json"] = (
        json.dumps(package.sample_message(names.name), indent=2) + "\n"
    )
    # Every edit is computed before anything is written: a failed anchor leaves the checkout as it was.
    edited = {
        root / "pyproject.toml": _pyproject((root / "pyproject.toml").read_text(encoding="utf-8"), names),
        root / "template.yaml": _template((root / "template.yaml").read_text(encoding="utf-8"), names),
        root / "Makefile": _makefile((root / "Makefile").read_text(encoding="utf-8"), names),
    }
    for path, text in {**contents, **edited}.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    _format([path for path in contents if path.suffix == ".py"], root)
    return sorted([*contents, *edited])


def _format(paths: list[Path], root: Path) -> None:
    """Sort the imports (their order depends on the name) and format, with the project's ruff, if installed."""
    if importlib.util.find_spec("ruff") is None:
        return
    files = [str(path) for path in paths]
    for command in (["check", "--fix", "--select", "I", "--quiet"], ["format", "--quiet"]):
        subprocess.run([sys.executable, "-m", "ruff", *command, *files], cwd=root, check=True)  # noqa: S603


def _insert_after(text: str, anchor: str, addition: str, where: str) -> str:
    index = text.find(anchor)
    if index < 0:
        raise ScaffoldError(f"{where}: no line {anchor.strip()!r} to add to")
    end = index + len(anchor)
    return text[:end] + addition + text[end:]


def _insert_before(text: str, anchor: str, addition: str, where: str) -> str:
    index = text.find(anchor)
    if index < 0:
        raise ScaffoldError(f"{where}: no line {anchor.strip()!r} to add before")
    return text[:index] + addition + text[index:]


def _pyproject(text: str, names: IntegrationNames) -> str:
    group = '[project.entry-points."event_importer.integrations"]\n'
    entry = f'{names.name} = "integrations.{names.name}.base:{names.camel}Integration"\n'
    text = _insert_after(text, group, entry, "pyproject.toml")
    extra = f"# {names.title}'s own runtime dependencies: only its submit function ships them.\n{names.name} = []\n"
    text = _insert_after(text, "[project.optional-dependencies]\n", extra, "pyproject.toml")
    return text.replace(",importer,mcp]", f",{names.name},importer,mcp]", 1)


def _template(text: str, names: IntegrationNames) -> str:
    text = _insert_before(
        text, "\n  MaxReceiveCount:\n", "\n" + names.fill(template_block.PARAMETERS).rstrip("\n"), "template.yaml"
    )
    text = _insert_after(text, "\nConditions:\n", names.fill(template_block.CONDITION), "template.yaml")
    operators = "  # ------------------------------------------------------------- operators\n"
    text = _insert_before(text, operators, names.fill(template_block.RESOURCES), "template.yaml")
    text = text.rstrip("\n") + "\n" + names.fill(template_block.OUTPUTS)
    for variable, suffix, resource in (
        ("INTEGRATION_QUEUES", "QueueUrl", "Queue"),
        ("DEAD_LETTER_QUEUES", "DeadLetterQueueUrl", "DeadLetterQueue"),
    ):
        text = _add_to_queue_maps(text, variable, names, suffix, resource)
    return text


def _add_to_queue_maps(text: str, variable: str, names: IntegrationNames, suffix: str, resource: str) -> str:
    """Add the integration to each ``<variable>: !Sub [json, {name: !If [...]}]`` map of the template."""
    pattern = re.compile(
        rf"^(?P<indent> *){variable}: !Sub\n"  # the variable
        r"(?P<item> *)- '(?P<json>\{.*\})'\n"  # the JSON object, one line
        r"(?P<vars>(?P=item)- \w+: .*\n(?:(?P=item)  \w+: .*\n)*)",  # the Sub variables, one per line
        re.MULTILINE,
    )
    found = 0

    def add(match: re.Match[str]) -> str:
        nonlocal found
        found += 1
        variable_name = f"{names.camel}{suffix}"
        entry = f', "{names.name}": "${{{variable_name}}}"'
        json_text = match["json"][:-1] + entry + "}"
        pad = match["item"] + "  "
        line = f"{pad}{variable_name}: !If [Has{names.camel}, !Ref {names.camel}{resource}, '']\n"
        return f"{match['indent']}{variable}: !Sub\n{match['item']}- '{json_text}'\n{match['vars']}{line}"

    text = pattern.sub(add, text)
    if not found:
        raise ScaffoldError(f"template.yaml: no {variable}: !Sub [json, variables] map to add the queue to")
    return text


def _makefile(text: str, names: IntegrationNames) -> str:
    target = (
        f"build-{names.camel}SubmitFunction:\n"
        f'\t$(LAMBDA_BUILD) submit --integration {names.name} --out "$(ARTIFACTS_DIR)"\n\n'
    )
    text = _insert_before(text, "# The operators' functions ship every integration", target, "Makefile")
    for function in ("replay", "api"):
        text, count = re.subn(
            rf"^(\t\$\(LAMBDA_BUILD\) {function} .*?)( --out )",
            rf"\1 --integration {names.name}\2",
            text,
            count=1,
            flags=re.MULTILINE,
        )
        if not count:
            raise ScaffoldError(f"Makefile: no build line for the {function} function")
    return text

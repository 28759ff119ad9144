"""The SAM template, read from Python: short-form tags, Globals and intrinsics.

``template.yaml`` is the one source of truth for resources.  Tests check it
through this module, and the local runtime provisions what it declares and
runs each handler with the environment, batch sizes and timeouts it gives.

* ``load_template`` reads YAML with CloudFormation's short forms (``!Ref``,
  ``!Sub``, ``!GetAtt`` ...) turned into their long forms (``{"Ref": ...}``,
  ``{"Fn::Sub": ...}``); ``!GetAtt A.B`` becomes ``{"Fn::GetAtt": ["A", "B"]}``.
* ``Template`` gives resources by type and each function with its effective
  properties (``Globals.Function`` merged in the way SAM merges them).
* ``resolve`` evaluates intrinsic functions against a ``ResolveContext``:
  parameter values, pseudo parameters, and the physical ids and attributes of
  resources, which the caller supplies (fakes in tests, real ones from
  ``infra.provision``).
"""

from __future__ import annotations

import base64
import copy
import enum
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml

from integrations.errors import ConfigurationError

__all__ = [
    "DEFAULT_ACCOUNT_ID",
    "DEFAULT_REGION",
    "CloudFormationLoader",
    "EventSource",
    "Function",
    "ResolveContext",
    "Template",
    "TemplateError",
    "evaluate_condition",
    "load_template",
    "loads_template",
    "referenced_names",
    "resolve",
    "target_logical_id",
]

SERVERLESS_FUNCTION: Final = "AWS::Serverless::Function"
# moto's default account, and the region every local run uses.
DEFAULT_ACCOUNT_ID: Final = "123456789012"
DEFAULT_REGION: Final = "us-east-1"
# SAM's defaults when neither the function nor Globals set them.
_DEFAULT_TIMEOUT = 3
_DEFAULT_MEMORY_SIZE = 128


class TemplateError(ConfigurationError):
    """The template is malformed, or a value in it cannot be resolved here."""


# --------------------------------------------------------------------- loading


class CloudFormationLoader(yaml.SafeLoader):
    """A ``SafeLoader`` that reads CloudFormation short forms as long forms."""


# CloudFormation reads YAML timestamps as plain strings ('2010-09-09' stays a
# version string, a Default of 2024-01-01 stays text): drop that resolver.
CloudFormationLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_any(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    raise TemplateError(f"unsupported YAML node for tag {node.tag}")  # pragma: no cover - yaml has no other kind


def _tag_constructor(key: str) -> Callable[[yaml.SafeLoader, yaml.Node], dict[str, Any]]:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        return {key: _construct_any(loader, node)}

    return construct


def _construct_get_att(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    value = _construct_any(loader, node)
    if isinstance(value, str):
        # Split at the first dot only: attribute names may contain dots
        # (``Endpoint.Address``), logical ids may not.
        logical_id, _, attribute = value.partition(".")
        value = [logical_id, attribute]
    return {"Fn::GetAtt": value}


_TAGS: Final = {
    "Ref": "Ref",
    "Condition": "Condition",
    **{
        name: f"Fn::{name}"
        for name in (
            "And",
            "Base64",
            "Cidr",
            "Equals",
            "FindInMap",
            "GetAZs",
            "If",
            "ImportValue",
            "Join",
            "Not",
            "Or",
            "Select",
            "Split",
            "Sub",
        )
    },
}
for _tag, _key in _TAGS.items():
    CloudFormationLoader.add_constructor(f"!{_tag}", _tag_constructor(_key))
CloudFormationLoader.add_constructor("!GetAtt", _construct_get_att)


def loads_template(text: str) -> dict[str, Any]:
    """Parse template text (YAML or JSON) into a dict of long-form intrinsics."""
    try:
        body = yaml.load(text, Loader=CloudFormationLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise TemplateError(f"not valid YAML: {exc}") from exc
    if not isinstance(body, dict):
        raise TemplateError("a template must be a mapping at the top level")
    return body


def load_template(path: str | Path) -> dict[str, Any]:
    """Read a template file; see ``loads_template``."""
    return loads_template(Path(path).read_text(encoding="utf-8"))


# ------------------------------------------------------------------- resolving


class _Sentinel(enum.Enum):
    NO_VALUE = "AWS::NoValue"


_NO_VALUE: Final = _Sentinel.NO_VALUE
_SUB_VARIABLE: Final = re.compile(r"\$\{([^}]*)\}")


@dataclass(frozen=True)
class ResolveContext:
    """What intrinsic functions resolve against.

    ``resources`` maps a logical id to the value of its ``Ref`` (a table
    name, a queue URL); ``attributes`` maps ``(logical id, attribute)`` to
    the value of its ``Fn::GetAtt`` (``("TicketfairyQueue", "Arn")``).
    ``parameters`` holds parameter values (defaults already applied: see
    ``Template.context``); ``conditions`` and ``mappings`` are the template's
    sections, evaluated on demand.
    """

    parameters: Mapping[str, str | list[str]] = field(default_factory=dict)
    resources: Mapping[str, Any] = field(default_factory=dict)
    attributes: Mapping[tuple[str, str], Any] = field(default_factory=dict)
    conditions: Mapping[str, Any] = field(default_factory=dict)
    mappings: Mapping[str, Any] = field(default_factory=dict)
    stack_name: str = "local"
    region: str = DEFAULT_REGION
    account_id: str = DEFAULT_ACCOUNT_ID
    partition: str = "aws"
    url_suffix: str = "amazonaws.com"

    def pseudo_parameter(self, name: str) -> Any:
        """The value of ``AWS::<name>``; raises ``KeyError`` for other names."""
        values: dict[str, Any] = {
            "AWS::AccountId": self.account_id,
            "AWS::NotificationARNs": [],
            "AWS::Partition": self.partition,
            "AWS::Region": self.region,
            "AWS::StackId": (
                f"arn:{self.partition}:cloudformation:{self.region}:{self.account_id}:"
                f"stack/{self.stack_name}/00000000-0000-0000-0000-000000000000"
            ),
            "AWS::StackName": self.stack_name,
            "AWS::URLSuffix": self.url_suffix,
        }
        return values[name]


def resolve(value: Any, context: ResolveContext) -> Any:
    """Evaluate every intrinsic function in ``value``.

    Entries resolving to ``AWS::NoValue`` are dropped from dicts and lists; a
    top-level ``AWS::NoValue`` resolves to ``None``.  Raises ``TemplateError``
    for anything the context cannot answer (an unknown ``Ref``, a missing
    attribute, ``Fn::ImportValue``), naming it.
    """
    resolved = _resolve(value, context)
    return None if resolved is _NO_VALUE else resolved


def _resolve(value: Any, context: ResolveContext) -> Any:
    if isinstance(value, list):
        return [item for item in (_resolve(element, context) for element in value) if item is not _NO_VALUE]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Ref":
            return _ref(argument, context)
        if isinstance(key, str) and key.startswith("Fn::"):
            function = _FUNCTIONS.get(key)
            if function is None:
                raise TemplateError(f"{key} is not supported by the local resolver")
            return function(argument, context)
    return {key: item for key, item in ((k, _resolve(v, context)) for k, v in value.items()) if item is not _NO_VALUE}


def _ref(name: Any, context: ResolveContext) -> Any:
    if not isinstance(name, str):
        raise TemplateError(f"Ref takes a name, not {name!r}")
    if name == _NO_VALUE.value:
        return _NO_VALUE
    if name.startswith("AWS::"):
        try:
            return context.pseudo_parameter(name)
        except KeyError:
            raise TemplateError(f"unknown pseudo parameter {name!r}") from None
    if name in context.parameters:
        return context.parameters[name]
    if name in context.resources:
        return context.resources[name]
    raise TemplateError(
        f"cannot resolve Ref {name!r}: not a parameter with a value, nor a resource in the context "
        f"(known resources: {', '.join(sorted(context.resources)) or 'none'})"
    )


def _get_att(argument: Any, context: ResolveContext) -> Any:
    if isinstance(argument, str):
        logical_id, _, attribute = argument.partition(".")
    elif isinstance(argument, list) and len(argument) == 2:
        logical_id, attribute = argument[0], _resolve(argument[1], context)
    else:
        raise TemplateError(f"Fn::GetAtt takes [logical id, attribute] or 'Id.Attribute', not {argument!r}")
    try:
        return context.attributes[(logical_id, attribute)]
    except KeyError:
        raise TemplateError(f"cannot resolve Fn::GetAtt {logical_id}.{attribute}: not in the context") from None


def _as_string(value: Any, what: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise TemplateError(f"{what} must resolve to a string, not {value!r}")


def _sub(argument: Any, context: ResolveContext) -> str:
    if isinstance(argument, str):
        text, variables = argument, {}
    elif isinstance(argument, list) and len(argument) == 2 and isinstance(argument[1], dict):
        text, variables = argument
    else:
        raise TemplateError(f"Fn::Sub takes a string or [string, {{variables}}], not {argument!r}")
    if not isinstance(text, str):
        raise TemplateError(f"Fn::Sub takes a string to substitute, not {text!r}")

    def substitute(match: re.Match[str]) -> str:
        expression = match.group(1)
        if expression.startswith("!"):
            return "${" + expression[1:] + "}"
        if expression in variables:
            value = _resolve(variables[expression], context)
        elif "." in expression:
            value = _get_att(expression, context)
        else:
            value = _ref(expression, context)
        return _as_string(value, f"${{{expression}}} in Fn::Sub")

    return _SUB_VARIABLE.sub(substitute, text)


def _pair(argument: Any, function: str) -> tuple[Any, Any]:
    if not isinstance(argument, list) or len(argument) != 2:
        raise TemplateError(f"{function} takes a list of two, not {argument!r}")
    return argument[0], argument[1]


def _list(value: Any, function: str) -> list[Any]:
    if not isinstance(value, list):
        raise TemplateError(f"{function} needs a list, got {value!r}")
    return value


def _join(argument: Any, context: ResolveContext) -> str:
    delimiter, values = _pair(argument, "Fn::Join")
    items = _list(_resolve(values, context), "Fn::Join")
    return _as_string(delimiter, "Fn::Join delimiter").join(_as_string(item, "Fn::Join item") for item in items)


def _select(argument: Any, context: ResolveContext) -> Any:
    index, values = _pair(argument, "Fn::Select")
    items = _list(_resolve(values, context), "Fn::Select")
    try:
        return items[int(_as_string(_resolve(index, context), "Fn::Select index"))]
    except (ValueError, IndexError) as exc:
        raise TemplateError(f"Fn::Select index {index!r} is not an index into {items!r}") from exc


def _split(argument: Any, context: ResolveContext) -> list[str]:
    delimiter, source = _pair(argument, "Fn::Split")
    return _as_string(_resolve(source, context), "Fn::Split source").split(_as_string(delimiter, "Fn::Split delimiter"))


def _if(argument: Any, context: ResolveContext) -> Any:
    if not isinstance(argument, list) or len(argument) != 3:
        raise TemplateError(f"Fn::If takes [condition, value if true, value if false], not {argument!r}")
    name, when_true, when_false = argument
    return _resolve(when_true if evaluate_condition(name, context) else when_false, context)


def _find_in_map(argument: Any, context: ResolveContext) -> Any:
    keys = [_as_string(_resolve(key, context), "Fn::FindInMap key") for key in _list(argument, "Fn::FindInMap")]
    if len(keys) != 3:
        raise TemplateError(f"Fn::FindInMap takes [map, top-level key, second-level key], not {argument!r}")
    try:
        return context.mappings[keys[0]][keys[1]][keys[2]]
    except (KeyError, TypeError):
        raise TemplateError(f"Fn::FindInMap: no value at {'/'.join(keys)}") from None


def _base64(argument: Any, context: ResolveContext) -> str:
    text = _as_string(_resolve(argument, context), "Fn::Base64 value")
    return base64.b64encode(text.encode()).decode("ascii")


def _get_azs(argument: Any, context: ResolveContext) -> list[str]:
    region = _as_string(_resolve(argument, context), "Fn::GetAZs region") or context.region
    return [f"{region}{zone}" for zone in "abc"]


def _import_value(argument: Any, context: ResolveContext) -> Any:
    raise TemplateError(f"Fn::ImportValue {argument!r} cannot be resolved without the exporting stack")


def _condition_function(key: str) -> Callable[[Any, ResolveContext], bool]:
    def evaluate(argument: Any, context: ResolveContext) -> bool:
        return _evaluate({key: argument}, context, frozenset())

    return evaluate


_FUNCTIONS: Final[dict[str, Callable[[Any, ResolveContext], Any]]] = {
    "Fn::Base64": _base64,
    "Fn::FindInMap": _find_in_map,
    "Fn::GetAZs": _get_azs,
    "Fn::GetAtt": _get_att,
    "Fn::If": _if,
    "Fn::ImportValue": _import_value,
    "Fn::Join": _join,
    "Fn::Select": _select,
    "Fn::Split": _split,
    "Fn::Sub": _sub,
    **{key: _condition_function(key) for key in ("Fn::And", "Fn::Equals", "Fn::Not", "Fn::Or")},
}


def evaluate_condition(name: str, context: ResolveContext) -> bool:
    """Evaluate the template condition called ``name``."""
    return _named_condition(name, context, frozenset())


def _named_condition(name: Any, context: ResolveContext, seen: frozenset[str]) -> bool:
    if not isinstance(name, str) or name not in context.conditions:
        raise TemplateError(f"unknown condition {name!r}")
    if name in seen:
        raise TemplateError(f"condition {name!r} refers to itself")
    return _evaluate(context.conditions[name], context, seen | {name})


def _evaluate(value: Any, context: ResolveContext, seen: frozenset[str]) -> bool:
    if isinstance(value, dict) and len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Condition":
            return _named_condition(argument, context, seen)
        if key == "Fn::Equals":
            left, right = (_comparable(_resolve(side, context)) for side in _pair(argument, key))
            return bool(left == right)
        if key == "Fn::Not":
            operands = _list(argument, key)
            if len(operands) != 1:
                raise TemplateError(f"Fn::Not takes a list of one condition, not {argument!r}")
            return not _evaluate(operands[0], context, seen)
        if key == "Fn::And":
            return all(_evaluate(operand, context, seen) for operand in _list(argument, key))
        if key == "Fn::Or":
            return any(_evaluate(operand, context, seen) for operand in _list(argument, key))
    raise TemplateError(f"not a condition: {value!r}")


def _comparable(value: Any) -> Any:
    # CloudFormation compares strings: !Equals [!Ref Count, 3] holds when Count is "3".
    return _as_string(value, "Fn::Equals operand") if isinstance(value, bool | int | float) else value


def referenced_names(value: Any) -> set[str]:
    """Names ``value`` refers to through ``Ref``, ``Fn::GetAtt`` or ``Fn::Sub``.

    Parameters and resources alike (pseudo parameters excluded); callers keep
    the ones they care about, e.g. to order resource creation.
    """
    names: set[str] = set()
    if isinstance(value, list):
        for item in value:
            names |= referenced_names(item)
    elif isinstance(value, dict):
        for key, argument in value.items():
            if key == "Ref" and isinstance(argument, str):
                names.add(argument)
            elif key == "Fn::GetAtt":
                logical_id = target_logical_id({key: argument})
                if logical_id is not None:
                    names.add(logical_id)
            elif key == "Fn::Sub":
                names |= _sub_references(argument)
            else:
                names |= referenced_names(argument)
    return {name for name in names if not name.startswith("AWS::")}


def _sub_references(argument: Any) -> set[str]:
    if isinstance(argument, str):
        text, variables = argument, {}
    elif isinstance(argument, list) and len(argument) == 2 and isinstance(argument[0], str):
        text, variables = argument
    else:
        return referenced_names(argument)
    names = referenced_names(variables)
    for expression in _SUB_VARIABLE.findall(text):
        if not expression.startswith("!") and expression not in variables:
            names.add(expression.partition(".")[0])
    return names


def target_logical_id(value: Any) -> str | None:
    """The logical id ``value`` points at when it is a ``Ref`` or ``Fn::GetAtt``, else ``None``.

    Event sources name their queue or stream this way
    (``Queue: !GetAtt TicketfairyQueue.Arn`` -> ``"TicketfairyQueue"``).
    """
    if not isinstance(value, dict) or len(value) != 1:
        return None
    ((key, argument),) = value.items()
    if key == "Ref" and isinstance(argument, str):
        return argument
    if key == "Fn::GetAtt":
        if isinstance(argument, str):
            return argument.partition(".")[0]
        if isinstance(argument, list) and argument and isinstance(argument[0], str):
            return argument[0]
    return None


# -------------------------------------------------------------------- template


def _merge_globals(global_value: Any, local_value: Any) -> Any:
    """Merge as SAM does: maps recursively, lists concatenated, otherwise (and for intrinsics) local wins."""
    if isinstance(global_value, dict) and isinstance(local_value, dict):
        if _is_intrinsic(global_value) or _is_intrinsic(local_value):
            return local_value
        merged = dict(global_value)
        for key, value in local_value.items():
            merged[key] = _merge_globals(merged[key], value) if key in merged else value
        return merged
    if isinstance(global_value, list) and isinstance(local_value, list):
        return global_value + local_value
    return local_value


def _is_intrinsic(value: dict[str, Any]) -> bool:
    if len(value) != 1:
        return False
    key = next(iter(value))
    return key in ("Ref", "Condition") or (isinstance(key, str) and key.startswith("Fn::"))


def _literal_int(value: Any, what: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise TemplateError(f"{what} is not a literal integer ({value!r}): resolve it with a context")


@dataclass(frozen=True)
class EventSource:
    """One entry of a function's ``Events``: its name, SAM type (``SQS``, ``DynamoDB`` ...) and properties."""

    name: str
    type: str
    properties: Mapping[str, Any]

    @property
    def target(self) -> str | None:
        """Logical id of the queue (``Queue``) or table (``Stream``) it reads, if it names one."""
        return target_logical_id(self.properties.get("Queue", self.properties.get("Stream")))


@dataclass(frozen=True)
class Function:
    """An ``AWS::Serverless::Function`` with its effective (Globals-merged) properties, unresolved."""

    logical_id: str
    properties: Mapping[str, Any]

    @property
    def handler(self) -> str:
        handler = self.properties.get("Handler")
        if not isinstance(handler, str):
            raise TemplateError(f"{self.logical_id} has no literal Handler")
        return handler

    @property
    def timeout(self) -> int:
        """Seconds; SAM's default of 3 when unset.  Raises ``TemplateError`` for an intrinsic."""
        return _literal_int(self.properties.get("Timeout", _DEFAULT_TIMEOUT), f"{self.logical_id} Timeout")

    @property
    def memory_size(self) -> int:
        """MiB; SAM's default of 128 when unset.  Raises ``TemplateError`` for an intrinsic."""
        return _literal_int(self.properties.get("MemorySize", _DEFAULT_MEMORY_SIZE), f"{self.logical_id} MemorySize")

    @property
    def environment(self) -> dict[str, Any]:
        """Environment variables (Globals and own, merged by name), intrinsics unresolved."""
        variables = self.properties.get("Environment", {}).get("Variables", {})
        return dict(variables) if isinstance(variables, dict) else {}

    @property
    def events(self) -> dict[str, EventSource]:
        events = self.properties.get("Events") or {}
        return {
            name: EventSource(name=name, type=str(event.get("Type")), properties=event.get("Properties") or {})
            for name, event in events.items()
        }


class Template:
    """A loaded template: sections, resources by type, functions, and resolve contexts."""

    def __init__(self, body: Mapping[str, Any]) -> None:
        self.body: Mapping[str, Any] = body
        self.parameters: Mapping[str, Any] = body.get("Parameters") or {}
        self.conditions: Mapping[str, Any] = body.get("Conditions") or {}
        self.mappings: Mapping[str, Any] = body.get("Mappings") or {}
        self.resources: Mapping[str, Any] = body.get("Resources") or {}
        self.outputs: Mapping[str, Any] = body.get("Outputs") or {}
        self.globals: Mapping[str, Any] = body.get("Globals") or {}

    @classmethod
    def load(cls, path: str | Path) -> Template:
        return cls(load_template(path))

    def resources_of_type(self, resource_type: str) -> dict[str, Mapping[str, Any]]:
        """Logical id -> resource definition, for every resource of ``resource_type``."""
        return {
            logical_id: resource
            for logical_id, resource in self.resources.items()
            if resource.get("Type") == resource_type
        }

    def functions(self) -> dict[str, Function]:
        """Every ``AWS::Serverless::Function``, with ``Globals.Function`` merged in."""
        global_properties = self.globals.get("Function") or {}
        return {
            logical_id: Function(
                logical_id=logical_id,
                # A copy: callers may adjust a function's properties freely.
                properties=copy.deepcopy(_merge_globals(global_properties, resource.get("Properties") or {})),
            )
            for logical_id, resource in self.resources_of_type(SERVERLESS_FUNCTION).items()
        }

    def function(self, logical_id: str) -> Function:
        try:
            return self.functions()[logical_id]
        except KeyError:
            raise TemplateError(f"no function {logical_id!r} in the template") from None

    def parameter_values(self, overrides: Mapping[str, str] | None = None) -> dict[str, str | list[str]]:
        """Each parameter's value: the override, else its default; list types split on commas.

        Parameters with neither are left out (a ``Ref`` to one then fails,
        naming it).  Raises ``TemplateError`` for an override of an unknown
        parameter or one outside ``AllowedValues``.
        """
        overrides = overrides or {}
        unknown = set(overrides) - set(self.parameters)
        if unknown:
            raise TemplateError(f"unknown parameters: {', '.join(sorted(unknown))}")
        values: dict[str, str | list[str]] = {}
        for name, declaration in self.parameters.items():
            if name in overrides:
                value = overrides[name]
                allowed = declaration.get("AllowedValues")
                if allowed is not None and value not in [_as_string(item, name) for item in allowed]:
                    raise TemplateError(f"parameter {name}={value!r} is not one of {allowed}")
            elif "Default" in declaration:
                value = _as_string(declaration["Default"], f"parameter {name} default")
            else:
                continue
            parameter_type = str(declaration.get("Type", "String"))
            is_list = parameter_type == "CommaDelimitedList" or parameter_type.startswith("List<")
            values[name] = [item.strip() for item in value.split(",")] if is_list else value
        return values

    def context(
        self,
        *,
        resources: Mapping[str, Any] | None = None,
        attributes: Mapping[tuple[str, str], Any] | None = None,
        parameter_overrides: Mapping[str, str] | None = None,
        stack_name: str = "local",
        region: str = DEFAULT_REGION,
        account_id: str = DEFAULT_ACCOUNT_ID,
    ) -> ResolveContext:
        """A ``ResolveContext`` with this template's parameters, conditions and mappings."""
        return ResolveContext(
            parameters=self.parameter_values(parameter_overrides),
            resources=dict(resources or {}),
            attributes=dict(attributes or {}),
            conditions=self.conditions,
            mappings=self.mappings,
            stack_name=stack_name,
            region=region,
            account_id=account_id,
        )

    def is_active(self, logical_id: str, context: ResolveContext) -> bool:
        """Whether the resource exists under ``context``: true unless its ``Condition`` is false."""
        condition = self.resources[logical_id].get("Condition")
        return condition is None or evaluate_condition(condition, context)

"""The template loader (short-form tags), the intrinsic resolver and ``Template``."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from infra.template import (
    ResolveContext,
    Template,
    TemplateError,
    evaluate_condition,
    load_template,
    loads_template,
    referenced_names,
    resolve,
    target_logical_id,
)


def load_value(text: str) -> Any:
    return loads_template(f"value: {text}\n")["value"]


# ---------------------------------------------------------------- loader


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("!Ref Bucket", {"Ref": "Bucket"}),
        ("!Ref AWS::Region", {"Ref": "AWS::Region"}),
        ("!Sub 'arn:${AWS::Partition}:s3:::${Bucket}'", {"Fn::Sub": "arn:${AWS::Partition}:s3:::${Bucket}"}),
        ("!Sub ['${x}-y', {x: !Ref Name}]", {"Fn::Sub": ["${x}-y", {"x": {"Ref": "Name"}}]}),
        ("!GetAtt Queue.Arn", {"Fn::GetAtt": ["Queue", "Arn"]}),
        ("!GetAtt Db.Endpoint.Address", {"Fn::GetAtt": ["Db", "Endpoint.Address"]}),
        ("!GetAtt [Queue, Arn]", {"Fn::GetAtt": ["Queue", "Arn"]}),
        ("!If [IsProd, 5, !Ref AWS::NoValue]", {"Fn::If": ["IsProd", 5, {"Ref": "AWS::NoValue"}]}),
        ("!Join [',', [a, !Ref B]]", {"Fn::Join": [",", ["a", {"Ref": "B"}]]}),
        ("!Select [1, !Split [',', 'a,b']]", {"Fn::Select": [1, {"Fn::Split": [",", "a,b"]}]}),
        ("!Equals [!Ref Env, prod]", {"Fn::Equals": [{"Ref": "Env"}, "prod"]}),
        ("!Not [!Condition IsProd]", {"Fn::Not": [{"Condition": "IsProd"}]}),
        ("!And [!Condition A, !Condition B]", {"Fn::And": [{"Condition": "A"}, {"Condition": "B"}]}),
        ("!Or [!Condition A, !Equals [x, y]]", {"Fn::Or": [{"Condition": "A"}, {"Fn::Equals": ["x", "y"]}]}),
        ("!FindInMap [Sizes, !Ref Env, memory]", {"Fn::FindInMap": ["Sizes", {"Ref": "Env"}, "memory"]}),
        ("!Base64 hello", {"Fn::Base64": "hello"}),
        ("!ImportValue shared-vpc", {"Fn::ImportValue": "shared-vpc"}),
        ("!GetAZs ''", {"Fn::GetAZs": ""}),
        ("!Condition IsProd", {"Condition": "IsProd"}),
        ("!Sub\n  - '${A}'\n  - A: !GetAtt Q.Arn", {"Fn::Sub": ["${A}", {"A": {"Fn::GetAtt": ["Q", "Arn"]}}]}),
    ],
)
def test_short_forms_load_as_long_forms(text: str, expected: Any) -> None:
    assert load_value(text) == expected


def test_mapping_form_tag_is_kept_as_a_mapping() -> None:
    assert load_value("!Sub {x: 1}") == {"Fn::Sub": {"x": 1}}


def test_dates_stay_strings_as_in_cloudformation() -> None:
    body = loads_template("AWSTemplateFormatVersion: 2010-09-09\nResources: {}\n")

    assert body["AWSTemplateFormatVersion"] == "2010-09-09"


def test_load_template_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("Resources:\n  Q:\n    Type: AWS::SQS::Queue\n", encoding="utf-8")

    assert load_template(path) == {"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}
    assert load_template(str(path)) == load_template(path)


@pytest.mark.parametrize("text", ["- a list\n", "just text\n", "key: [unclosed\n"])
def test_not_a_template_is_a_template_error(text: str) -> None:
    with pytest.raises(TemplateError):
        loads_template(text)


# ---------------------------------------------------------------- resolver


@pytest.fixture
def context() -> ResolveContext:
    return ResolveContext(
        parameters={"Env": "prod", "Names": ["a", "b"]},
        resources={"Queue": "https://sqs.local/q", "Table": "events"},
        attributes={("Queue", "Arn"): "arn:aws:sqs:us-east-1:123456789012:q", ("Db", "Endpoint.Address"): "db.local"},
        conditions={
            "IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]},
            "IsDev": {"Fn::Not": [{"Condition": "IsProd"}]},
            "Both": {"Fn::And": [{"Condition": "IsProd"}, {"Fn::Equals": ["1", 1]}]},
            "Either": {"Fn::Or": [{"Condition": "IsDev"}, {"Condition": "IsProd"}]},
            "Loop": {"Fn::Not": [{"Condition": "Loop"}]},
            "Broken": {"Fn::Sub": "x"},
        },
        mappings={"Sizes": {"prod": {"memory": 1024}}},
        stack_name="stack",
        region="eu-west-1",
        account_id="111122223333",
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Env", "prod"),
        ("Names", ["a", "b"]),
        ("Queue", "https://sqs.local/q"),
        ("AWS::Region", "eu-west-1"),
        ("AWS::AccountId", "111122223333"),
        ("AWS::StackName", "stack"),
        ("AWS::Partition", "aws"),
        ("AWS::URLSuffix", "amazonaws.com"),
        ("AWS::NotificationARNs", []),
    ],
)
def test_ref(context: ResolveContext, name: str, expected: Any) -> None:
    assert resolve({"Ref": name}, context) == expected


def test_ref_stack_id_names_the_stack(context: ResolveContext) -> None:
    assert ":stack/stack/" in resolve({"Ref": "AWS::StackId"}, context)


@pytest.mark.parametrize("value", [{"Ref": "Missing"}, {"Ref": "AWS::Nope"}, {"Ref": ["Env"]}])
def test_unresolvable_ref_is_a_clear_error(context: ResolveContext, value: Any) -> None:
    with pytest.raises(TemplateError, match=r"Missing|AWS::Nope|takes a name"):
        resolve(value, context)


def test_unknown_ref_error_names_it_and_the_known_resources(context: ResolveContext) -> None:
    with pytest.raises(TemplateError, match=r"'Missing'.*Queue, Table"):
        resolve({"Ref": "Missing"}, context)


def test_no_value_drops_entries_and_is_none_at_top_level(context: ResolveContext) -> None:
    no_value = {"Ref": "AWS::NoValue"}

    assert resolve({"a": 1, "b": no_value, "c": [1, no_value, 2]}, context) == {"a": 1, "c": [1, 2]}
    assert resolve(no_value, context) is None


def test_plain_values_and_many_key_dicts_resolve_inside(context: ResolveContext) -> None:
    assert resolve({"Name": {"Ref": "Table"}, "Ref": "x", "n": 3}, context) == {"Name": "events", "Ref": "x", "n": 3}


@pytest.mark.parametrize(
    "value",
    [
        {"Fn::GetAtt": ["Queue", "Arn"]},
        {"Fn::GetAtt": "Queue.Arn"},
        {"Fn::GetAtt": ["Queue", {"Ref": "AttributeName"}]},
    ],
)
def test_get_att_forms(value: Any) -> None:
    context = ResolveContext(parameters={"AttributeName": "Arn"}, attributes={("Queue", "Arn"): "arn:q"})

    assert resolve(value, context) == "arn:q"


def test_get_att_with_dotted_attribute(context: ResolveContext) -> None:
    assert resolve({"Fn::GetAtt": "Db.Endpoint.Address"}, context) == "db.local"


@pytest.mark.parametrize("value", [{"Fn::GetAtt": ["Queue", "Nope"]}, {"Fn::GetAtt": ["Queue"]}, {"Fn::GetAtt": 3}])
def test_get_att_errors(context: ResolveContext, value: Any) -> None:
    with pytest.raises(TemplateError, match="Fn::GetAtt"):
        resolve(value, context)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"Fn::Sub": "${AWS::StackName}-${Env}"}, "stack-prod"),
        (
            {"Fn::Sub": "url=${Queue} arn=${Queue.Arn}"},
            "url=https://sqs.local/q arn=arn:aws:sqs:us-east-1:123456789012:q",
        ),
        ({"Fn::Sub": "host=${Db.Endpoint.Address}"}, "host=db.local"),
        ({"Fn::Sub": "${!Literal}-${Env}"}, "${Literal}-prod"),
        ({"Fn::Sub": "no variables"}, "no variables"),
        ({"Fn::Sub": ["${Env}/${x}/${y}", {"x": {"Ref": "Table"}, "y": 5}]}, "prod/events/5"),
        ({"Fn::Sub": ["${Env}", {"Env": "shadowed"}]}, "shadowed"),
        ({"Fn::Sub": ["${flag}", {"flag": True}]}, "true"),
        ({"Fn::Sub": '{"ticketfairy": "${Queue}"}'}, '{"ticketfairy": "https://sqs.local/q"}'),
    ],
)
def test_sub(context: ResolveContext, value: Any, expected: str) -> None:
    assert resolve(value, context) == expected


@pytest.mark.parametrize(
    "value",
    [
        {"Fn::Sub": "${Names}"},  # a list cannot be substituted
        {"Fn::Sub": ["${x}"]},
        {"Fn::Sub": [1, {}]},
        {"Fn::Sub": "${Missing}"},
    ],
)
def test_sub_errors(context: ResolveContext, value: Any) -> None:
    with pytest.raises(TemplateError):
        resolve(value, context)


def test_join_select_split(context: ResolveContext) -> None:
    assert resolve({"Fn::Join": ["-", ["a", {"Ref": "Env"}, 3]]}, context) == "a-prod-3"
    assert resolve({"Fn::Join": [",", {"Ref": "Names"}]}, context) == "a,b"
    assert resolve({"Fn::Split": [",", "x,y,z"]}, context) == ["x", "y", "z"]
    assert resolve({"Fn::Select": ["1", {"Fn::Split": [",", "x,y,z"]}]}, context) == "y"
    assert resolve({"Fn::Select": [0, {"Ref": "Names"}]}, context) == "a"


@pytest.mark.parametrize(
    "value",
    [
        {"Fn::Select": [5, ["a"]]},
        {"Fn::Select": ["x", ["a"]]},
        {"Fn::Select": [0, "not a list"]},
        {"Fn::Join": [","]},
        {"Fn::Join": [",", [["nested"]]]},
        {"Fn::Split": [",", ["a"]]},
    ],
)
def test_list_function_errors(context: ResolveContext, value: Any) -> None:
    with pytest.raises(TemplateError):
        resolve(value, context)


@pytest.mark.parametrize(
    ("condition", "expected"),
    [("IsProd", True), ("IsDev", False), ("Both", True), ("Either", True)],
)
def test_conditions(context: ResolveContext, condition: str, expected: bool) -> None:
    assert evaluate_condition(condition, context) is expected
    assert resolve({"Fn::If": [condition, "yes", {"Ref": "Env"}]}, context) == ("yes" if expected else "prod")


def test_if_resolves_only_the_chosen_branch(context: ResolveContext) -> None:
    assert resolve({"Fn::If": ["IsProd", "ok", {"Ref": "Missing"}]}, context) == "ok"


def test_if_with_no_value_drops_the_property(context: ResolveContext) -> None:
    value = {"AlarmActions": {"Fn::If": ["IsDev", ["arn:topic"], {"Ref": "AWS::NoValue"}]}}

    assert resolve(value, context) == {}


def test_condition_functions_resolve_to_booleans(context: ResolveContext) -> None:
    assert resolve({"Fn::Equals": [{"Ref": "Env"}, "prod"]}, context) is True
    assert resolve({"Fn::Not": [{"Fn::Equals": ["a", "a"]}]}, context) is False
    assert resolve({"Fn::Or": [{"Fn::Equals": ["a", "b"]}, {"Condition": "IsProd"}]}, context) is True
    assert resolve({"Fn::And": [{"Fn::Equals": ["a", "b"]}, {"Condition": "IsProd"}]}, context) is False


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"Fn::If": ["Nope", 1, 2]}, "unknown condition"),
        ({"Fn::If": ["IsProd", 1]}, "Fn::If takes"),
        ({"Fn::If": ["Loop", 1, 2]}, "refers to itself"),
        ({"Fn::If": ["Broken", 1, 2]}, "not a condition"),
        ({"Fn::Not": [{"Condition": "IsProd"}, {"Condition": "IsProd"}]}, "list of one"),
        ({"Fn::Equals": ["a"]}, "list of two"),
    ],
)
def test_condition_errors(context: ResolveContext, value: Any, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        resolve(value, context)


def test_find_in_map_base64_get_azs(context: ResolveContext) -> None:
    assert resolve({"Fn::FindInMap": ["Sizes", {"Ref": "Env"}, "memory"]}, context) == 1024
    assert resolve({"Fn::Base64": {"Fn::Sub": "${Env}"}}, context) == base64.b64encode(b"prod").decode()
    assert resolve({"Fn::GetAZs": ""}, context) == ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
    assert resolve({"Fn::GetAZs": "us-east-2"}, context)[0] == "us-east-2a"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"Fn::FindInMap": ["Sizes", "dev", "memory"]}, "no value at Sizes/dev/memory"),
        ({"Fn::FindInMap": ["Sizes", "prod"]}, "takes"),
        ({"Fn::ImportValue": "shared"}, "exporting stack"),
        ({"Fn::Cidr": ["10.0.0.0/16", 2, 8]}, "not supported"),
    ],
)
def test_other_function_errors(context: ResolveContext, value: Any, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        resolve(value, context)


def test_referenced_names() -> None:
    value = {
        "A": {"Ref": "Param"},
        "B": {"Fn::GetAtt": ["Queue", "Arn"]},
        "C": {"Fn::GetAtt": "Other.Arn"},
        "D": {"Fn::Sub": "${Table}/${Db.Endpoint}/${!Skip}/${AWS::Region}"},
        "E": {"Fn::Sub": ["${x}-${Own}", {"x": {"Ref": "FromVars"}}]},
        "F": [{"Fn::Join": ["", [{"Ref": "InList"}]]}],
        "G": {"Ref": "AWS::NoValue"},
    }

    assert referenced_names(value) == {"Param", "Queue", "Other", "Table", "Db", "Own", "FromVars", "InList"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"Ref": "Queue"}, "Queue"),
        ({"Fn::GetAtt": ["Queue", "Arn"]}, "Queue"),
        ({"Fn::GetAtt": "Table.StreamArn"}, "Table"),
        ("arn:aws:sqs:us-east-1:1:q", None),
        ({"Fn::Sub": "${Queue.Arn}"}, None),
        ({"Fn::GetAtt": []}, None),
        ({"Ref": "A", "Other": 1}, None),
    ],
)
def test_target_logical_id(value: Any, expected: str | None) -> None:
    assert target_logical_id(value) == expected


# ---------------------------------------------------------------- Template

TEMPLATE = """
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage:
    Type: String
    Default: dev
    AllowedValues: [dev, prod]
  Zones:
    Type: CommaDelimitedList
    Default: a, b
  Retries:
    Type: Number
    Default: 3
  Required:
    Type: String
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
Globals:
  Function:
    Runtime: python3.12
    Timeout: 30
    Layers: [global-layer]
    Environment:
      Variables:
        SHARED: !Ref Stage
        OVERRIDDEN: global
Resources:
  Queue:
    Type: AWS::SQS::Queue
  ProdOnlyQueue:
    Type: AWS::SQS::Queue
    Condition: IsProd
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      MemorySize: 256
      Layers: [own-layer]
      Environment:
        Variables:
          OVERRIDDEN: local
          QUEUE: !Ref Queue
      Events:
        Work:
          Type: SQS
          Properties:
            Queue: !GetAtt Queue.Arn
            BatchSize: 10
  Plain:
    Type: AWS::Serverless::Function
    Properties:
      Handler: plain.handler
      Timeout: !If [IsProd, 60, 10]
      Runtime: python3.11
  Bare:
    Type: AWS::Serverless::Function
"""


@pytest.fixture
def template() -> Template:
    return Template(loads_template(TEMPLATE))


def test_resources_of_type(template: Template) -> None:
    assert set(template.resources_of_type("AWS::SQS::Queue")) == {"Queue", "ProdOnlyQueue"}
    assert set(template.resources_of_type("AWS::Serverless::Function")) == {"Worker", "Plain", "Bare"}
    assert template.resources_of_type("AWS::SNS::Topic") == {}


def test_functions_merge_globals_as_sam_does(template: Template) -> None:
    worker = template.function("Worker")

    assert worker.handler == "app.handler"
    assert worker.timeout == 30
    assert worker.memory_size == 256
    assert worker.properties["Runtime"] == "python3.12"
    assert worker.properties["Layers"] == ["global-layer", "own-layer"]
    assert worker.environment == {"SHARED": {"Ref": "Stage"}, "OVERRIDDEN": "local", "QUEUE": {"Ref": "Queue"}}


def test_local_intrinsic_and_scalars_win_over_globals(template: Template) -> None:
    plain = template.function("Plain")

    assert plain.properties["Timeout"] == {"Fn::If": ["IsProd", 60, 10]}
    assert plain.properties["Runtime"] == "python3.11"
    assert plain.events == {}
    with pytest.raises(TemplateError, match="not a literal integer"):
        _ = plain.timeout
    assert resolve(plain.properties["Timeout"], template.context()) == 10


def test_merging_globals_does_not_share_state_between_functions(template: Template) -> None:
    worker = template.function("Worker")
    worker.properties["Environment"]["Variables"]["SHARED"] = "changed"

    assert template.function("Plain").environment["SHARED"] == {"Ref": "Stage"}


def test_function_without_properties_gets_globals_and_sam_defaults() -> None:
    template = Template(loads_template("Resources:\n  F:\n    Type: AWS::Serverless::Function\n"))
    function = template.function("F")

    assert (function.timeout, function.memory_size, function.environment, function.events) == (3, 128, {}, {})
    with pytest.raises(TemplateError, match="no literal Handler"):
        _ = function.handler


def test_function_events(template: Template) -> None:
    (event,) = template.function("Worker").events.values()

    assert (event.name, event.type, event.target) == ("Work", "SQS", "Queue")
    assert event.properties["BatchSize"] == 10


def test_unknown_function_is_a_template_error(template: Template) -> None:
    with pytest.raises(TemplateError, match="Nope"):
        template.function("Nope")


def test_parameter_values(template: Template) -> None:
    assert template.parameter_values() == {"Stage": "dev", "Zones": ["a", "b"], "Retries": "3"}
    assert template.parameter_values({"Stage": "prod", "Required": "x"})["Required"] == "x"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [({"Stage": "qa"}, "not one of"), ({"Typo": "x"}, "unknown parameters: Typo")],
)
def test_bad_parameter_overrides(template: Template, overrides: dict[str, str], message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        template.parameter_values(overrides)


def test_ref_to_parameter_without_value_fails_naming_it(template: Template) -> None:
    with pytest.raises(TemplateError, match="'Required'"):
        resolve({"Ref": "Required"}, template.context())


def test_context_and_conditional_resources(template: Template) -> None:
    dev = template.context(resources={"Queue": "url"}, stack_name="s", region="eu-west-1", account_id="1")
    prod = template.context(parameter_overrides={"Stage": "prod"})

    assert resolve(template.function("Worker").environment, dev) == {
        "SHARED": "dev",
        "OVERRIDDEN": "local",
        "QUEUE": "url",
    }
    assert resolve({"Fn::Sub": "${AWS::StackName}/${AWS::Region}/${AWS::AccountId}"}, dev) == "s/eu-west-1/1"
    assert (template.is_active("Queue", dev), template.is_active("ProdOnlyQueue", dev)) == (True, False)
    assert template.is_active("ProdOnlyQueue", prod) is True


def test_template_load_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE, encoding="utf-8")

    assert set(Template.load(path).functions()) == {"Worker", "Plain", "Bare"}


def test_function_properties_are_a_copy_of_the_template(template: Template) -> None:
    template.function("Worker").properties["Events"]["Work"]["Properties"]["BatchSize"] = 1

    assert template.function("Worker").events["Work"].properties["BatchSize"] == 10


def test_a_plain_value_is_not_a_condition() -> None:
    context = ResolveContext(conditions={"Plain": "true"})

    with pytest.raises(TemplateError, match="not a condition: 'true'"):
        evaluate_condition("Plain", context)


def test_referenced_names_of_a_malformed_sub_still_finds_refs() -> None:
    assert referenced_names({"Fn::Sub": [{"Ref": "Odd"}]}) == {"Odd"}


def test_intrinsic_properties_replace_globals_whole_and_digit_strings_are_integers() -> None:
    template = Template(
        loads_template(
            """
Globals:
  Function:
    Timeout: '20'
    VpcConfig: {SubnetIds: [a]}
Resources:
  F:
    Type: AWS::Serverless::Function
    Properties:
      VpcConfig: !If [HasVpc, {SubnetIds: [b]}, !Ref AWS::NoValue]
"""
        )
    )
    function = template.function("F")

    assert function.timeout == 20
    assert function.properties["VpcConfig"] == {"Fn::If": ["HasVpc", {"SubnetIds": ["b"]}, {"Ref": "AWS::NoValue"}]}

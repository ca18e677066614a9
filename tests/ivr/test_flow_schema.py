"""The JSON Schema of flow documents agrees with the validator on shape."""

from __future__ import annotations

import pytest

from ivr.flow import default_flow, load_flow
from ivr.flow_schema import STEP_FIELDS, flow_schema
from ivr.steps import STEP_KINDS

from .test_flow import VALID
from .test_interpreter import MENU


def test_every_step_field_has_a_schema() -> None:
    for kind in STEP_KINDS.values():
        assert kind.fields <= set(STEP_FIELDS), kind.kind


@pytest.mark.parametrize("text", [VALID, MENU], ids=["support", "menu"])
def test_valid_flows_match_the_schema(text: str) -> None:
    import jsonschema
    jsonschema.validate(dict(load_flow(text).document), flow_schema())


def test_default_flow_matches_the_schema() -> None:
    import jsonschema
    jsonschema.Draft202012Validator.check_schema(flow_schema())
    jsonschema.validate(dict(default_flow().document), flow_schema())


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda d: d["steps"][0].update(timeout=-3), ["steps", 0]),
        (lambda d: d["steps"][1].update(kind="survey"), ["steps", 1]),
        (lambda d: d["steps"][3].update(next="greeting"), ["steps", 3]),
        (lambda d: d.update(locales=["fr"]), ["locales", 0]),
    ],
)
def test_shape_errors_are_caught_by_the_schema_too(change, path) -> None:
    import jsonschema
    document = load_flow(VALID).document
    document = {**document, "steps": [dict(step) for step in document["steps"]]}
    change(document)
    errors = list(jsonschema.Draft202012Validator(flow_schema()).iter_errors(document))
    assert errors
    assert list(errors[0].absolute_path)[: len(path)] == path

"""The checks on a flow's steps taken as a graph: every reference resolves, menus are one level
deep, nothing loops, every step is reachable and some path ends at a person."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from ivr.document import FieldPath, Issue
from ivr.steps import AcknowledgeStep, MenuStep, Step


class Findings(Protocol):
    """Where the checks report: the issues found so far, and where each step stands."""

    issues: list[Issue]
    step_paths: dict[str, FieldPath]

    def fail(self, path: FieldPath, message: str) -> None: ...


def check_graph(
    findings: Findings, steps: list[Step], prompts: Mapping[str, Any], operator: str | None
) -> None:
    """Report unknown prompts and steps, deep menus, loops, unreachable steps, no route."""
    by_id = {step.id: step for step in steps}
    for step in steps:
        path = findings.step_paths[step.id]
        for name in ("prompt", "retry_prompt"):
            prompt_id = getattr(step, name, None)
            if prompt_id and prompt_id not in prompts:
                findings.fail((*path, name), f"unknown prompt '{prompt_id}'")
        if isinstance(step, AcknowledgeStep):
            for mood, prompt_id in step.prompts.items():
                if prompt_id not in prompts:
                    findings.fail((*path, "prompts", mood), f"unknown prompt '{prompt_id}'")
        if step.next is not None and step.next not in by_id:
            findings.fail((*path, "next"), f"unknown step '{step.next}'")
        if isinstance(step, MenuStep):
            _check_menu(findings, step, path, by_id, operator)
    if any(issue.message.startswith("unknown step") for issue in findings.issues):
        return
    _check_loops(findings, steps, by_id)
    seen = reachable(steps[0], by_id)
    for step in steps:
        if step.id not in seen:
            findings.fail(findings.step_paths[step.id], f"step '{step.id}' is unreachable")
    if not any(step.terminal for step in steps):
        findings.fail(("steps",), "no route step: every flow must end with a person")


def reachable(start: Step, by_id: Mapping[str, Step]) -> set[str]:
    """The ids of *start* and every step that can follow it."""
    seen = {start.id}
    pending = [start]
    while pending:
        for successor in pending.pop().successors():
            if successor in by_id and successor not in seen:
                seen.add(successor)
                pending.append(by_id[successor])
    return seen


def _check_menu(
    findings: Findings,
    menu: MenuStep,
    path: FieldPath,
    by_id: Mapping[str, Step],
    operator: str | None,
) -> None:
    for index, option in enumerate(menu.options):
        option_path: FieldPath = (*path, "options", index)
        if option.key == operator:
            findings.fail((*option_path, "key"), f"key '{option.key}' is the operator key")
        if option.next not in by_id:
            findings.fail((*option_path, "next"), f"unknown step '{option.next}'")
            continue
        for deeper in reachable(by_id[option.next], by_id):
            if isinstance(by_id[deeper], MenuStep):
                findings.fail(
                    (*option_path, "next"),
                    f"menus are one level deep: '{option.next}' leads to menu '{deeper}'",
                )
                break


def _check_loops(findings: Findings, steps: list[Step], by_id: Mapping[str, Step]) -> None:
    done: set[str] = set()
    for start in steps:
        trail: list[str] = []
        _walk(findings, start.id, by_id, trail, done)


def _walk(
    findings: Findings,
    step_id: str,
    by_id: Mapping[str, Step],
    trail: list[str],
    done: set[str],
) -> None:
    if step_id in done:
        return
    if step_id in trail:
        loop = [*trail[trail.index(step_id) :], step_id]
        closing = by_id[trail[-1]]
        field_ = "options" if isinstance(closing, MenuStep) else "next"
        findings.fail((*findings.step_paths[closing.id], field_), f"loop: {' -> '.join(loop)}")
        return
    trail.append(step_id)
    for successor in by_id[step_id].successors():
        _walk(findings, successor, by_id, trail, done)
    trail.pop()
    done.add(step_id)

"""Drives calls through a switch worker's control API (HTTP, JSON) on the agent's behalf."""

from __future__ import annotations

from typing import Any

import requests

ACTIONS = {"answer", "hold", "unhold", "hangup", "transfer"}


class WorkerUnreachable(RuntimeError):
    pass


def send_call_action(
    worker_url: str, call_id: str, action: str, body: dict[str, Any], timeout: float
) -> tuple[int, dict[str, Any]]:
    """POST ``/calls/<id>/<action>`` and return the worker's status and JSON answer."""
    if action not in ACTIONS:
        raise ValueError(f"unknown call action {action!r}")
    try:
        response = requests.post(
            f"{worker_url.rstrip('/')}/calls/{call_id}/{action}", json=body, timeout=timeout
        )
    except requests.RequestException as error:
        raise WorkerUnreachable(f"worker at {worker_url} did not answer: {error}") from error
    try:
        answer = response.json()
    except ValueError:
        answer = {"text": response.text[:200]}
    return response.status_code, answer if isinstance(answer, dict) else {"result": answer}

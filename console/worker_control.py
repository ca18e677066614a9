"""Drives calls through a switch worker's control API (HTTP, JSON) on the agent's behalf."""

from __future__ import annotations

from typing import Any

import requests

# The page's action names -> the worker's paths under /calls/<id>/.
ACTIONS = {
    "answer": "answer",
    "hold": "hold",
    "unhold": "unhold",
    "hangup": "hangup",
    "transfer": "transfer",
    "complete-transfer": "transfer/complete",
    "cancel-transfer": "transfer/cancel",
}


class WorkerUnreachable(RuntimeError):
    pass


def send_call_action(
    worker_url: str, call_id: str, action: str, body: dict[str, Any], timeout: float
) -> tuple[int, dict[str, Any]]:
    """POST the action to ``/calls/<id>/...`` and return the worker's status and JSON answer."""
    if action not in ACTIONS:
        raise ValueError(f"unknown call action {action!r}")
    try:
        response = requests.post(
            f"{worker_url.rstrip('/')}/calls/{call_id}/{ACTIONS[action]}",
            json=body,
            timeout=timeout,
        )
    except requests.RequestException as error:
        raise WorkerUnreachable(f"worker at {worker_url} did not answer: {error}") from error
    try:
        answer = response.json()
    except ValueError:
        answer = {"text": response.text[:200]}
    return response.status_code, answer if isinstance(answer, dict) else {"result": answer}

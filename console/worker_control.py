"""Drives calls through a switch worker's control API (HTTP, JSON) on the agent's behalf.

Every request carries the deployment token (``Authorization: Bearer``); a worker answers 401
without it. This module and `console.worker_feed` are the console's only clients of workers.
"""

from __future__ import annotations

import logging
from typing import Any

import requests

log = logging.getLogger(__name__)

# The page's action names -> the worker's paths under /calls/<id>/.
ACTIONS = {
    "answer": "answer",
    "hold": "hold",
    "unhold": "unhold",
    "hangup": "hangup",
    "transfer": "transfer",
    "complete-transfer": "transfer/complete",
    "cancel-transfer": "transfer/cancel",
    "monitor": "monitor",  # a supervisor's listen / whisper / barge / leave
}
TOKEN_REFUSED = (
    "worker at %s refused the deployment token (401): the console and the workers must share "
    "one token (var/deployment-token, or deployment_token / CENTRALINO_DEPLOYMENT_TOKEN)"
)


class WorkerUnreachable(RuntimeError):
    pass


def auth_headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def send_call_action(
    worker_url: str, call_id: str, action: str, body: dict[str, Any], timeout: float, token: str
) -> tuple[int, dict[str, Any]]:
    """POST the action to ``/calls/<id>/...`` and return the worker's status and JSON answer."""
    if action not in ACTIONS:
        raise ValueError(f"unknown call action {action!r}")
    try:
        response = requests.post(
            f"{worker_url.rstrip('/')}/calls/{call_id}/{ACTIONS[action]}",
            json=body,
            headers=auth_headers(token),
            timeout=timeout,
        )
    except requests.RequestException as error:
        raise WorkerUnreachable(f"worker at {worker_url} did not answer: {error}") from error
    if response.status_code == 401:
        log.error(TOKEN_REFUSED, worker_url)
    try:
        answer = response.json()
    except ValueError:
        answer = {"text": response.text[:200]}
    return response.status_code, answer if isinstance(answer, dict) else {"result": answer}


def live_calls(worker_url: str, timeout: float, token: str) -> list[dict[str, Any]]:
    """A worker's ``GET /calls``; raises `WorkerUnreachable` when it cannot be read."""
    try:
        response = requests.get(
            f"{worker_url.rstrip('/')}/calls", headers=auth_headers(token), timeout=timeout
        )
        if response.status_code == 401:
            log.error(TOKEN_REFUSED, worker_url)
        response.raise_for_status()
        answer = response.json()
    except (requests.RequestException, ValueError) as error:
        raise WorkerUnreachable(f"worker at {worker_url}: {error}") from error
    calls = answer if isinstance(answer, list) else answer.get("calls", [])
    return [call for call in calls if isinstance(call, dict)]

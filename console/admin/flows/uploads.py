"""The body limit of a recording upload: a request larger than the recording limit (plus room
for the form) is refused before it is read, with the same clear error as a file just over it."""

from __future__ import annotations

from typing import Any

from flask import request

from ivr.prompts import MAX_RECORDING_BYTES

#: Room for the multipart framing and the prompt and locale fields.
FORM_ROOM = 64 * 1024
UPLOAD_ENDPOINTS = frozenset({"upload_recording", "upload_music"})  # flows, queues


def limit_uploads(endpoint: str | None, _values: dict[str, Any] | None) -> None:
    """url_value_preprocessor of the flows blueprints: runs before CSRF parses the form."""
    if endpoint and endpoint.rsplit(".", 1)[-1] in UPLOAD_ENDPOINTS:
        request.max_content_length = MAX_RECORDING_BYTES + FORM_ROOM


def too_large() -> str:
    return f"larger than {MAX_RECORDING_BYTES // (1024 * 1024)} MB; nothing was stored"

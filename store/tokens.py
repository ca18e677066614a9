"""The deployment token: the one secret the control plane shares (worker control API, speech).

The console sends it to every switch worker (``Authorization: Bearer``), the workers send it to
the speech service. It is the ``deployment_token`` setting (``CENTRALINO_DEPLOYMENT_TOKEN``,
for deployments spread over machines), else the file ``var/deployment-token`` (mode 0600),
created on first use (``centralino init``, ``up``, or the first process that needs it).
"""

from __future__ import annotations

import contextlib
import hmac
import os
import secrets
from pathlib import Path

from store.private_files import FILE_MODE, make_var_dir
from store.settings import Settings

TOKEN_FILE = "deployment-token"
MIN_TOKEN_LENGTH = 32
BEARER = "bearer "


class TokenError(ValueError):
    """The configured token is unusable (too short), or none exists where one must."""


def token_path(settings: Settings) -> Path:
    return Path(settings.var_dir) / TOKEN_FILE


def deployment_token(settings: Settings, create: bool = True) -> str:
    """The deployment's token: the setting, else ``var/deployment-token`` (made if *create*)."""
    configured = settings.deployment_token.strip()
    if configured:
        return _checked(configured, "deployment_token (CENTRALINO_DEPLOYMENT_TOKEN)")
    path = token_path(settings)
    with contextlib.suppress(FileNotFoundError):
        return _checked(path.read_text().strip(), str(path))
    if not create:
        raise TokenError(
            f"no deployment token: {path} does not exist; run `centralino init` or set "
            "CENTRALINO_DEPLOYMENT_TOKEN"
        )
    return _create(path, settings)


def bearer_matches(authorization: str | None, token: str) -> bool:
    """Whether an ``Authorization`` header value carries *token* (compared in constant time)."""
    if not authorization or authorization[: len(BEARER)].lower() != BEARER:
        return False
    offered = authorization[len(BEARER) :].strip().encode()
    return hmac.compare_digest(offered, token.encode())


def bearer_header(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _checked(token: str, source: str) -> str:
    if len(token) < MIN_TOKEN_LENGTH or any(c.isspace() for c in token):
        raise TokenError(
            f"the deployment token from {source} must be at least {MIN_TOKEN_LENGTH} characters "
            "without spaces (make one with `python -c 'import secrets; "
            "print(secrets.token_urlsafe(32))'`)"
        )
    return token


def _create(path: Path, settings: Settings) -> str:
    """Write a new token atomically: processes starting together all end up with the same."""
    make_var_dir(settings)
    token = secrets.token_urlsafe(32)
    staged = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(token + "\n")
        try:
            os.link(staged, path)  # fails if another process was first: theirs wins
        except FileExistsError:
            return _checked(path.read_text().strip(), str(path))
        return token
    finally:
        staged.unlink(missing_ok=True)

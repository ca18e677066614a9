"""Who may use a worker's control API: the right Host name, the deployment token, JSON bodies.

Checked before every route, ``/health`` and ``/events`` included, in this order: a Host that
is not one of ours is 421 (a DNS-rebinding page names its own host), a missing or wrong
``Authorization: Bearer <token>`` is 401 with ``WWW-Authenticate``, a request body that is not
``application/json`` is 415 (a browser's cross-site form or ``text/plain`` POST never is).
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from flask import Request, Response, jsonify

from store.settings import Settings
from store.tokens import bearer_matches

log = logging.getLogger("centralino.switch.api")

WILDCARDS = {"0.0.0.0", "::", ""}
BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
REALM = 'Bearer realm="centralino-switch"'


def host_name(host: str) -> str:
    """``10.0.0.5`` from ``10.0.0.5:8791``, ``::1`` from ``[::1]:8791``, lower-cased."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return address == "localhost"


def control_names(settings: Settings) -> list[str]:
    """The host names clients may use: the bind address, ``localhost``, ``control_hosts``."""
    names = [settings.control_address, *settings.control_hosts]
    if is_loopback(settings.control_address):
        names.append("localhost")
    return [name.lower() for name in names if name not in WILDCARDS]


def advertised_url(settings: Settings, port: int) -> str:
    """The ``api_url`` a worker registers for the console: ``control_url`` (a TLS proxy's,
    ``{port}`` filled in) when set, else ``http://<advertised host>:<port>``."""
    if settings.control_url:
        if not settings.control_url.startswith(("http://", "https://")):
            raise ValueError(f"control_url {settings.control_url!r} must start with https://")
        return settings.control_url.format(port=port).rstrip("/")
    return f"http://{advertised_host(settings)}:{port}"


def advertised_host(settings: Settings) -> str:
    """The host name the worker writes into its ``api_url`` for the console to use."""
    if settings.control_hosts:
        return settings.control_hosts[0]
    if settings.control_address in WILDCARDS:
        raise ValueError(
            f"control_address = {settings.control_address!r} listens on every interface: "
            "name the address the console uses in control_hosts (e.g. control_hosts = "
            '["10.0.0.5"]), or bind control_address to that one interface'
        )
    return settings.control_address


@dataclass(frozen=True)
class ControlGuard:
    token: str
    hosts: frozenset[str]

    @classmethod
    def for_names(cls, token: str, names: Iterable[str]) -> ControlGuard:
        return cls(token, frozenset(host_name(name) for name in names))

    def refusal(self, request: Request) -> tuple[Response, int] | None:
        """The error answer for *request*, or None when it may go on."""
        if host_name(request.host) not in self.hosts:
            log.warning(
                "event=api.refused status=421 host=%r peer=%s",
                request.host[:80],
                request.remote_addr,
            )
            return _error(421, f"this worker does not answer for host {request.host[:80]!r}")
        if not bearer_matches(request.headers.get("Authorization"), self.token):
            log.warning(
                "event=api.refused status=401 path=%s peer=%s",
                request.path[:80],
                request.remote_addr,
            )
            answer, status = _error(
                401,
                "send the deployment token as Authorization: Bearer <token> "
                "(var/deployment-token or CENTRALINO_DEPLOYMENT_TOKEN)",
            )
            offered = "Authorization" in request.headers
            answer.headers["WWW-Authenticate"] = REALM + (
                ', error="invalid_token"' if offered else ""
            )
            return answer, status
        if request.method in BODY_METHODS and request.mimetype != "application/json":
            log.warning(
                "event=api.refused status=415 type=%r peer=%s",
                request.mimetype[:80],
                request.remote_addr,
            )
            return _error(415, "the body must be JSON (Content-Type: application/json)")
        return None


def _error(status: int, message: str) -> tuple[Response, int]:
    return jsonify({"error": message}), status

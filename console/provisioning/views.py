"""``GET /provisioning/<file>``: the phone's file, or a plain-text refusal (see files.py)."""

from __future__ import annotations

from pathlib import Path

from flask import Response, current_app, request
from flask.typing import ResponseReturnValue

from console.extensions import database
from console.provisioning import bp
from console.provisioning.files import REALM, PhoneServer, Request


def phone_server() -> PhoneServer:
    config = current_app.config
    url = config["PROVISIONING_URL"] or request.url_root.rstrip("/") + "/provisioning/"
    return PhoneServer(
        db=database(),
        var_dir=Path(config["VAR_DIR"]),
        sip_server=config["SIP_SERVER"],
        sip_port=int(config["SIP_PORT"]),
        sip_domain=config["SIP_DOMAIN"],
        provisioning_url=url,
    )


@bp.get("/<path:file_name>")
def phone_file(file_name: str) -> ResponseReturnValue:
    served = phone_server().serve(
        Request(
            file_name=file_name,
            address=request.remote_addr or "",
            user_agent=request.headers.get("User-Agent", ""),
            authorization=request.headers.get("Authorization", ""),
        )
    )
    if served.file is None:
        response = Response(served.message + "\n", served.status, mimetype="text/plain")
        if served.status == 401:
            response.headers["WWW-Authenticate"] = f'Basic realm="{REALM}", charset="UTF-8"'
        return response
    response = Response(served.file.body, 200, content_type=served.file.content_type)
    response.headers["Cache-Control"] = "no-store"  # it carries the phone's password
    return response

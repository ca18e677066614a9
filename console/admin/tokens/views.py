"""The API tokens page: every admin's tokens, make one (its secret shown once), revoke one."""

from __future__ import annotations

from flask import flash, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from console.admin.services import tokens
from console.admin.services.base import AdminError, Invalid
from console.admin.tokens import pages
from console.admin.web import actor, service_session


def _page(errors: dict[str, str], made: tokens.NewToken | None = None, status: int = 200
          ) -> ResponseReturnValue:
    with service_session() as session:
        response = make_response(render_template(
            "admin/tokens/list.html", rows=tokens.listing(session), errors=errors, made=made,
            api_url=request.url_root.rstrip("/") + "/api/admin"), status)
    response.headers["Cache-Control"] = "no-store"
    return response


@pages.get("/")
def index() -> ResponseReturnValue:
    return _page({})


@pages.post("/")
def create() -> ResponseReturnValue:
    try:
        with service_session() as session:
            made = tokens.create(session, actor(), request.form.to_dict())
    except Invalid as error:
        return _page(error.errors, status=422)
    return _page({}, made)


@pages.post("/<int:token_id>/revoke")
def revoke(token_id: int) -> ResponseReturnValue:
    try:
        with service_session() as session:
            tokens.revoke(session, actor(), token_id)
    except AdminError as error:
        flash(str(error))
    else:
        flash("The token is revoked; scripts using it now get 401.")
    return redirect(url_for("admin.tokens.index"))

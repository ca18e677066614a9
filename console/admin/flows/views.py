"""The flows pages: the list, the editor (problems listed with line and field, nothing saved
until the flow validates), versions with one-click rollback, and which number plays which."""

from __future__ import annotations

from typing import Any

from flask import (
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from console.admin.flows import pages
from console.admin.flows.uploads import too_large
from console.admin.services import flow_prompts, flows
from console.admin.services.base import AdminError, Invalid
from console.admin.services.flows import FlowInvalid
from console.admin.web import actor, service_session
from store import flows as flow_store
from store.models import SupportNumber


@pages.get("/")
def index() -> ResponseReturnValue:
    with service_session() as session:
        return render_template("admin/flows/list.html", rows=flows.listing(session))


def _editor(flow_id: int | None, text: str, issues: list[dict[str, Any]], status: int = 200,
            upload_errors: dict[str, str] | None = None,
            upload_choice: dict[str, str] | None = None) -> ResponseReturnValue:
    with service_session() as session:
        flow = flows.get(session, flow_id) if flow_id is not None else None
        history = flow_store.versions(session, flow.id) if flow else []
        numbers = list(session.scalars(select(SupportNumber).order_by(SupportNumber.number)))
        return render_template("admin/flows/editor.html", flow=flow, text=text, issues=issues,
                               history=history, numbers=numbers,
                               prompts=flow_prompts.prompt_table(text),
                               upload_errors=upload_errors or {},
                               upload_choice=upload_choice or {}), status


@pages.get("/new")
def new() -> ResponseReturnValue:
    return _editor(None, flows.starter_text(), [])


@pages.get("/<int:flow_id>")
def edit(flow_id: int) -> ResponseReturnValue:
    with service_session() as session:
        text = flows.text_of(session, flows.get(session, flow_id))
    return _editor(flow_id, text, [])


def _save(flow_id: int | None) -> ResponseReturnValue:
    text = request.form.get("text", "").replace("\r\n", "\n")
    expect = None
    if flow_id is not None:
        with service_session() as session:
            expect = flows.get(session, flow_id).name
    try:
        with service_session() as session:
            flow = flows.save(session, actor(), text, request.form.get("note", "")[:200], expect)
            saved_id, version, name = flow.id, flow.version, flow.name
    except FlowInvalid as error:
        return _editor(flow_id, text, error.issues, 422)
    flash(f"Flow {name} version {version} saved; the next call plays it.")
    return redirect(url_for("admin.flows.edit", flow_id=saved_id))


@pages.post("/")
def create() -> ResponseReturnValue:
    return _save(None)


@pages.post("/<int:flow_id>")
def update(flow_id: int) -> ResponseReturnValue:
    return _save(flow_id)


@pages.post("/<int:flow_id>/rollback/<int:version>")
def rollback(flow_id: int, version: int) -> ResponseReturnValue:
    with service_session() as session:
        flow = flows.rollback(session, actor(), flow_id, version)
        flash(f"Flow {flow.name} is back to version {version} (saved as version {flow.version}).")
    return redirect(url_for("admin.flows.edit", flow_id=flow_id))


@pages.post("/<int:flow_id>/assign")
def assign(flow_id: int) -> ResponseReturnValue:
    raw = request.form.get("version", "")
    pinned = int(raw) if raw.isdigit() else None
    try:
        with service_session() as session:
            support = flows.assign(session, actor(), flow_id, request.form.get("number", ""),
                                   pinned)
            flash(f"{support.number} now plays "
                  f"{'version ' + str(pinned) if pinned else 'the latest version'}.")
    except AdminError as error:
        flash(f"Not assigned: {error}.")
    return redirect(url_for("admin.flows.edit", flow_id=flow_id))


# --- prompts: rehearsal, preview, recordings -------------------------------------------------


def _var_dir() -> str:
    return str(current_app.config["VAR_DIR"])


def _refusal(error: AdminError) -> ResponseReturnValue:
    return jsonify(error.as_json()), error.status


@pages.post("/rehearse")
def rehearse() -> ResponseReturnValue:
    """The rehearsal panel's request (form fields text, turns, locale): JSON to show."""
    form = request.form
    try:
        with service_session() as session:
            result = flow_prompts.rehearsal(session, form.get("text", "").replace("\r\n", "\n"),
                                            form.get("turns", ""), form.get("locale") or None)
    except AdminError as error:
        return _refusal(error)
    return jsonify(result)


@pages.post("/preview")
def preview() -> ResponseReturnValue:
    """Render a prompt of the document as typed; the answer names the WAV to play."""
    form = request.form
    try:
        rendered = flow_prompts.preview(_var_dir(), form.get("text", "").replace("\r\n", "\n"),
                                        form.get("prompt", ""), form.get("locale", ""),
                                        str(current_app.config.get("COMPANY_NAME") or ""))
    except AdminError as error:
        return _refusal(error)
    return jsonify(text=rendered.text,
                   url=url_for("admin.flows.preview_audio", name=rendered.name))


@pages.get("/preview/<name>")
def preview_audio(name: str) -> ResponseReturnValue:
    return send_file(flow_prompts.preview_file(_var_dir(), name), mimetype="audio/wav",
                     max_age=3600)


@pages.get("/<int:flow_id>/recordings/<name>")
def recording_audio(flow_id: int, name: str) -> ResponseReturnValue:
    with service_session() as session:
        path = flow_prompts.recording_path(session, _var_dir(), flow_id, name)
    return send_file(path, mimetype="audio/wav", max_age=3600)


@pages.post("/<int:flow_id>/recordings")
def upload_recording(flow_id: int) -> ResponseReturnValue:
    upload = request.files.get("file")
    prompt_id, locale = request.form.get("prompt", ""), request.form.get("locale", "")
    try:
        with service_session() as session:
            done = flow_prompts.upload(
                session, actor(), _var_dir(), flow_id, prompt_id, locale,
                upload.stream if upload and upload.filename else None,
                upload.filename or "" if upload else "")
    except Invalid as error:
        with service_session() as session:
            text = flows.text_of(session, flows.get(session, flow_id))
        return _editor(flow_id, text, [], 422, upload_errors=error.errors,
                       upload_choice={"prompt": prompt_id, "locale": locale})
    flash(f"Recording {done['recording']} ({done['seconds']} s) plays for {done['prompt']} "
          f"({done['locale']}) from the next call: flow version {done['version']}.")
    return redirect(url_for("admin.flows.edit", flow_id=flow_id))


@pages.errorhandler(RequestEntityTooLarge)
def _upload_too_large(_error: RequestEntityTooLarge) -> ResponseReturnValue:
    flow_id = (request.view_args or {}).get("flow_id")
    if request.endpoint != "admin.flows.upload_recording" or not isinstance(flow_id, int):
        return "Request too large", 413
    with service_session() as session:
        text = flows.text_of(session, flows.get(session, flow_id))
    return _editor(flow_id, text, [], 413, upload_errors={"file": too_large()})

"""The console's application factory, its production server (waitress) and its command line."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from flask import (
    Flask,
    current_app,
    g,
    jsonify,
    redirect,
    render_template_string,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from console import security_log
from console.auth.roles import home_for, load_signed_in, wants_json
from console.auth.sessions import ConsoleSessionInterface
from console.auth.throttle import LoginThrottle
from console.config import console_config
from console.extensions import csrf
from console.hub import EventHub
from console.streams import StreamGate
from console.worker_feed import EventRouter, WorkerFeed
from loglines import setup_logging
from store.db import DISK_FULL_ADVICE, Database, disk_full_error
from store.private_files import private_umask
from store.settings import Settings, load_settings

log = logging.getLogger(__name__)

_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src {img}; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
_ERROR_PAGE = (
    "{% extends 'base.html' %}{% block title %}{{ code }}{% endblock %}"
    "{% block main %}<p class='card'>{{ code }} — {{ message }}</p>{% endblock %}"
)


def _register_errors(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_refused(error: CSRFError) -> ResponseReturnValue:
        if wants_json():
            return jsonify(error=f"CSRF check failed: {error.description}"), 400
        return render_template_string(_ERROR_PAGE, code=400, message=error.description), 400

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> ResponseReturnValue:
        code = error.code or 500
        if wants_json():
            return jsonify(error=error.description), code
        return render_template_string(_ERROR_PAGE, code=code, message=error.description), code

    @app.errorhandler(OSError)
    @app.errorhandler(OperationalError)
    def disk_full(error: Exception) -> ResponseReturnValue:
        if not disk_full_error(error):
            raise error
        log.error(
            "event=console.disk_full %s %s: %s", request.method, request.path, DISK_FULL_ADVICE
        )
        message = f"Not saved: {DISK_FULL_ADVICE}. Try again once space is freed."
        if wants_json():
            return jsonify(error=message), 507
        return render_template_string(_ERROR_PAGE, code=507, message=message), 507


def _secure_headers(response: Any) -> Any:
    policy = _CONTENT_SECURITY_POLICY.format(img=current_app.config["IMG_SOURCES"])
    response.headers.setdefault("Content-Security-Policy", policy)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def create_app(source: Settings | Mapping[str, Any] | None = None) -> Flask:
    """Build the console for a deployment's `Settings` or a config mapping (see console.config)."""
    from console.admin import api_bp as admin_api_bp
    from console.admin import bp as admin_bp
    from console.agent import bp as agent_bp
    from console.auth import bp as auth_bp
    from console.inventory import bp as inventory_bp
    from console.inventory.state_api import api_bp as devices_api_bp
    from console.provisioning import bp as provisioning_bp
    from console.reports import bp as reports_bp
    from console.supervisor import bp as supervisor_bp

    app = Flask(__name__, static_folder="static", template_folder="templates")
    app.config.update(console_config(source))
    app.session_interface = ConsoleSessionInterface()
    proxies = int(app.config["TRUSTED_PROXIES"])
    if proxies > 0:  # only then are X-Forwarded-For/-Proto/-Host believed
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]  # Flask's way to add middleware
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies
        )
    csrf.init_app(app)
    db = Database(app.config["DATABASE_URL"])
    hub = EventHub()
    app.extensions["centralino.db"] = db
    app.extensions["centralino.hub"] = hub
    streams = StreamGate()
    app.extensions["centralino.streams"] = streams
    app.extensions["centralino.login_throttle"] = LoginThrottle(
        int(app.config["LOGIN_MAX_FAILURES"]), float(app.config["LOGIN_WINDOW_SECONDS"])
    )
    router = EventRouter(db, hub)
    feed = WorkerFeed(
        db,
        router.handle,
        float(app.config["WORKER_REFRESH_SECONDS"]),
        token=app.config["WORKER_TOKEN"],
        on_calls=router.relearn,
    )
    app.extensions["centralino.worker_feed"] = feed
    if app.config["WORKER_FEED"]:
        feed.start()

    app.before_request(load_signed_in)
    app.after_request(_secure_headers)
    for blueprint in (
        auth_bp,
        agent_bp,
        supervisor_bp,
        admin_bp,
        admin_api_bp,
        provisioning_bp,
        inventory_bp,
        reports_bp,
        devices_api_bp,
    ):
        app.register_blueprint(blueprint)
    csrf.exempt(devices_api_bp)  # headsets sign each report with HTTP Digest, never cookies
    for name, registered in app.blueprints.items():  # the admin API and its nested areas:
        if name.split(".")[0] == admin_api_bp.name:  # bearer tokens only, never cookies,
            csrf.exempt(registered)  # so there is nothing to forge
    _register_errors(app)

    @app.get("/")
    def home() -> ResponseReturnValue:
        agent = g.get("agent")
        return redirect(url_for(home_for(agent.role) if agent else "auth.login"))

    @app.get("/health")
    def health() -> ResponseReturnValue:
        return jsonify(status="ok", browsers=streams.count())

    return app


def server_limits(config: Mapping[str, Any], threads: int | None = None) -> dict[str, int]:
    """Waitress's limits for the console: every open event stream holds a thread, so there are
    as many threads as streams may be open (``SSE_MAX_STREAMS``, beyond that 503) plus
    *threads* for pages and APIs, and room for that many connections and more."""
    streams = int(config["SSE_MAX_STREAMS"])
    requests = int(threads or config["REQUEST_THREADS"])
    return {
        "threads": streams + requests,
        "connection_limit": streams + 8 * requests + 64,
        "channel_timeout": int(config["CHANNEL_TIMEOUT_SECONDS"]),
    }


def serve(settings: Settings, threads: int | None = None) -> None:
    """Run the console under waitress (see `server_limits`)."""
    from waitress import serve as waitress_serve

    app = create_app(settings)
    security_log.write_to(Path(settings.var_dir) / "console" / "security.log")
    limits = server_limits(app.config, threads)
    log.info(
        "console on http://%s:%d (%d threads, %d streams at most)",
        settings.console_address,
        settings.console_port,
        limits["threads"],
        app.config["SSE_MAX_STREAMS"],
    )
    waitress_serve(
        app,
        host=settings.console_address,
        port=settings.console_port,
        ident="centralino-console",
        threads=limits["threads"],
        connection_limit=limits["connection_limit"],
        channel_timeout=limits["channel_timeout"],
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="centralino console",
        description="Run the agent, supervisor and admin console (Flask under waitress).",
    )
    parser.add_argument("--config", help="TOML settings file (else CENTRALINO_CONFIG)")
    parser.add_argument("--address", help="listen address (default from settings: 127.0.0.1)")
    parser.add_argument("--port", type=int, help="listen port (default from settings: 8000)")
    parser.add_argument(
        "--threads",
        type=int,
        help="server threads for pages and APIs (default 16), on top of one per event stream "
        "(at most SSE_MAX_STREAMS, default 256)",
    )
    parser.add_argument(
        "--migrate", action="store_true", help="bring the database schema up to date first"
    )
    args = parser.parse_args(argv)
    private_umask()  # the console secret and anything else it writes under var/
    setup_logging()
    settings = load_settings(args.config)
    if args.address:
        settings.console_address = args.address
    if args.port:
        settings.console_port = args.port
    if args.migrate:
        from store.migrate import upgrade

        upgrade(settings.database_url)
    serve(settings, threads=args.threads)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

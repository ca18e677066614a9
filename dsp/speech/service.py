"""The speech service: Vosk models loaded once, many recognition streams over one WebSocket server.

It speaks the vosk-server WebSocket protocol (see `dsp.speech.protocol`), so a vosk-server
cluster can take its place without client changes. Our one addition is choosing the model per
connection by URL, which vosk-server ignores: ``ws://host:2700/ko`` or ``ws://host:2700/?locale=ko``;
``/`` means the default locale. ``GET /health`` answers with the loaded locales and open streams.
Every handshake needs the deployment token and every stream is bounded (`dsp.speech.guard`).
`dsp.speech.server` is its command (`centralino speech`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from dsp.speech.guard import (
    MESSAGE_TOO_BIG,
    POLICY_VIOLATION,
    TRY_AGAIN_LATER,
    Admission,
    SpeechLimits,
    is_loopback,
    offered_token,
    origin_allowed,
    token_matches,
    without_token,
)
from dsp.speech.models import ModelError, SpeechModel
from dsp.speech.protocol import (
    EndOfStream,
    ProtocolError,
    Reset,
    StreamConfig,
    error_message,
    parse_client_text,
)
from dsp.speech.recognizer import GrammarError
from dsp.speech.stream import Stream

log = logging.getLogger("centralino.speech")


def event(name: str, level: int = logging.INFO, **fields: object) -> None:
    """Log one structured line: ``event=<name> key=value ...``."""
    parts = [f"event={name}"]
    parts += [f"{key}={json.dumps(value, ensure_ascii=False)}" for key, value in fields.items()]
    log.log(level, " ".join(parts))


class SpeechService:
    """Serves recognition streams for the loaded models; decoding runs on a thread pool."""

    def __init__(
        self,
        models: Mapping[str, SpeechModel],
        default_locale: str | None = None,
        workers: int | None = None,
        *,
        token: str,
        limits: SpeechLimits | None = None,
        origins: Sequence[str] = (),
    ) -> None:
        if not token:
            raise ModelError("the speech service needs the deployment token")
        if not models:
            raise ModelError("the speech service needs at least one model")
        self.models = dict(models)
        self.default_locale = default_locale or next(iter(self.models))
        if self.default_locale not in self.models:
            raise ModelError(
                f"default locale {self.default_locale!r} has no model; loaded: "
                f"{', '.join(self.models)}"
            )
        # twice the cores: one stream's long decode (up to ~0.5 s at an utterance's end) then
        # does not hold up the small chunks of the others
        self.pool = ThreadPoolExecutor(workers or 2 * (os.cpu_count() or 1), "speech")
        self.token = token
        self.limits = limits or SpeechLimits()
        self.origins = tuple(origins)
        self.admission = Admission(self.limits)

    def replace_models(self, models: Mapping[str, SpeechModel]) -> None:
        """Serve *models* from now on (one assignment: handlers see the old or the new set)."""
        default = self.default_locale if self.default_locale in models else next(iter(models))
        self.models, self.default_locale = dict(models), default

    @property
    def streams(self) -> int:
        return self.admission.total

    def locale_for(self, path: str) -> str:
        """The locale a connection asks for by its URL path or ``?locale=`` parameter."""
        url = urlsplit(path)
        asked = parse_qs(url.query).get("locale", [""])[0] or url.path.strip("/")
        locale = (asked or self.default_locale).lower()
        if locale not in self.models:
            raise ProtocolError(
                f"no model for locale {locale!r}; this service has {', '.join(self.models)}"
            )
        return locale

    def handshake(self, connection: ServerConnection, request: Request) -> Response | None:
        """Before the upgrade: Origin, then token (401); ``/health`` is answered here."""
        peer = ":".join(map(str, connection.remote_address[:2]))
        origin = request.headers.get("Origin")
        if not origin_allowed(origin, self.origins):
            shown = (origin or "")[:100]
            event("stream.refused", logging.WARNING, peer=peer, status=403, origin=shown)
            return connection.respond(HTTPStatus.FORBIDDEN, "this Origin may not connect\n")
        offered = offered_token(request.path, request.headers.get("Authorization"))
        if not token_matches(offered, self.token):
            path = without_token(request.path)[:200]
            event("stream.refused", logging.WARNING, peer=peer, status=401, path=path)
            response = connection.respond(
                HTTPStatus.UNAUTHORIZED,
                "send the deployment token: Authorization: Bearer <token>, or ?token=<token>\n",
            )
            response.headers["WWW-Authenticate"] = 'Bearer realm="centralino-speech"'
            return response
        if urlsplit(request.path).path != "/health":
            return None
        body = {"status": "ok", "locales": sorted(self.models), "streams": self.streams}
        response = connection.respond(HTTPStatus.OK, json.dumps(body) + "\n")
        response.headers["Content-Type"] = "application/json"
        return response

    async def handle(self, connection: ServerConnection) -> None:
        client = str(connection.remote_address[0])
        peer = ":".join(map(str, connection.remote_address[:2]))
        path = without_token(connection.request.path if connection.request else "/")
        try:
            locale = self.locale_for(path)
        except ProtocolError as exc:
            event("stream.refused", logging.WARNING, peer=peer, path=path, reason=str(exc))
            await connection.send(error_message(str(exc)))
            await connection.close(POLICY_VIOLATION, "unknown locale")
            return
        refusal = self.admission.admit(client)
        if refusal is not None:
            event(
                "stream.refused", logging.WARNING, peer=peer, code=TRY_AGAIN_LATER, reason=refusal
            )
            await connection.close(TRY_AGAIN_LATER, refusal[:120])
            return
        stream = Stream(self.models[locale])
        event("stream.open", peer=peer, locale=locale, streams=self.streams)
        started = time.monotonic()
        try:
            async for message in connection:
                if not await self._answer(connection, stream, message):
                    break
        except ConnectionClosed:
            pass
        finally:
            self.admission.release(client)
            audio = stream.recognizer.position if stream.recognizer else 0.0
            sent = connection.protocol.close_sent
            code = sent.code if sent is not None else connection.close_code
            event(
                "stream.closed",
                logging.WARNING if code == MESSAGE_TOO_BIG else logging.INFO,
                peer=peer,
                locale=locale,
                audio_s=round(audio, 3),
                chunks=stream.chunks,
                errors=stream.errors,
                wall_s=round(time.monotonic() - started, 3),
                streams=self.streams,
                code=code,
                reason=(
                    f"message larger than {self.limits.max_message_bytes} bytes"
                    if code == MESSAGE_TOO_BIG
                    else (sent.reason if sent is not None else "")
                ),
            )

    async def _over_limit(self, connection: ServerConnection, reason: str) -> bool:
        """Close a stream that broke a limit (1008, with the reason); False: it has ended."""
        event("stream.limit", logging.WARNING, code=POLICY_VIOLATION, reason=reason)
        await connection.send(error_message(reason))
        await connection.close(POLICY_VIOLATION, reason[:120])
        return False

    async def _answer(self, connection: ServerConnection, stream: Stream, message: object) -> bool:
        """Reply to one message; False once the stream has ended."""
        loop = asyncio.get_running_loop()
        try:
            if isinstance(message, bytes):
                if len(message) % 2:
                    raise ProtocolError(f"audio chunk of {len(message)} bytes is not 16-bit PCM")
                stream.samples += len(message) // 2
                if stream.samples > self.limits.max_stream_seconds * stream.sample_rate:
                    seconds = self.limits.max_stream_seconds
                    return await self._over_limit(connection, f"stream longer than {seconds:g} s")
                stream.chunks += 1
                recognizer = stream.engine()
                reply = await loop.run_in_executor(self.pool, recognizer.accept_json, message)
                await connection.send(reply)
                return True
            request = parse_client_text(str(message))
        except (ProtocolError, GrammarError) as exc:
            stream.errors += 1
            event("stream.error", logging.WARNING, reason=str(exc))
            await connection.send(error_message(str(exc)))
            return True
        if isinstance(request, StreamConfig):
            problem = self.limits.phrase_list_problem(request.phrase_list)
            if problem is not None:
                return await self._over_limit(connection, problem)
            try:
                stream.configure(request)
            except (ProtocolError, GrammarError) as exc:
                stream.errors += 1
                event("stream.error", logging.WARNING, reason=str(exc))
                await connection.send(error_message(str(exc)))
            return True
        final = await loop.run_in_executor(self.pool, stream.engine().finish_json)
        await connection.send(final)
        if isinstance(request, Reset):
            return True
        assert isinstance(request, EndOfStream)
        await connection.close()
        return False

    async def serve(self, host: str, port: int, stop: asyncio.Event) -> None:
        """Listen until *stop* is set, then close every stream and return."""
        server: Server
        async with serve(
            self.handle,
            host,
            port,
            process_request=self.handshake,
            max_size=self.limits.max_message_bytes,
        ) as server:
            bound = server.sockets[0].getsockname()[:2] if server.sockets else (host, port)
            event("listening", host=bound[0], port=bound[1], locales=sorted(self.models))
            if not is_loopback(str(bound[0])):
                event(
                    "listening.exposed",
                    logging.WARNING,
                    host=bound[0],
                    advice="keep it on a private network or behind TLS (docs/security.md)",
                )
            await stop.wait()
            event("stopping", streams=self.streams)
            server.close()
            await server.wait_closed()
        self.pool.shutdown(wait=True, cancel_futures=True)
        event("stopped")

"""The switch worker process (``centralino switch``): one pjsua2 endpoint behind the edge.

One thread owns pjsua2: it pumps ``libHandleEvents`` and runs what the others posted
(`telephony.loop`: jobs, timers, the store thread's results). Around it: admission (leg count,
capacity, 503: `telephony.admission`), the heartbeat thread (`telephony.heartbeat`), the
control API on loopback (`telephony.api`) and one `Conversation` per call.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pjsua2 as pj
from sqlalchemy import select

from ivr.prompts import render_prompt
from loglines import setup_logging
from store.db import Database
from store.models import Device, SupportNumber
from store.private_files import private_umask
from store.settings import Settings, load_settings
from store.tokens import deployment_token
from telephony import heartbeat
from telephony.admission import Admission
from telephony.api_guard import ControlGuard, advertised_url, control_names
from telephony.callflow import busy, load_flow_factory
from telephony.callflow.base import FlowContext, FlowFactory
from telephony.callflow.feature_codes import FEATURE_CODES, feature_code_flow
from telephony.callflow.greeting import GREETING, greeting_then_agent
from telephony.capacity import REQUESTED_MAX_CALLS, probe_max_calls
from telephony.conversation import Conversation
from telephony.endpoint import Endpoint, start_endpoint, stop_endpoint
from telephony.events import EventBus
from telephony.floorwatch import FloorWatch
from telephony.intercom import IntercomHints
from telephony.leg import CUSTOMER, Leg, QuietOwner
from telephony.loop import Loop
from telephony.queueing import Callbacks
from telephony.refer import TransferTargets
from telephony.router import Offer
from telephony.tap import TapFrame, TapPump

log = logging.getLogger("centralino.switch")
_UNOWNED = QuietOwner()  # a new INVITE's leg, until its conversation exists (same loop turn)


class WorkerAccount(pj.Account):
    def __init__(self, worker: Worker) -> None:
        super().__init__()
        self.worker = worker

    def onIncomingCall(self, prm: pj.OnIncomingCallParam) -> None:
        message = prm.rdata.wholeMsg
        self.worker.incoming(
            prm.callId, _request_user(message), _device_of(message), busy.has_overflow_hint(message)
        )


class Worker:
    """A switch worker: endpoint, account, conversations, and the threads around them."""

    def __init__(
        self,
        settings: Settings,
        name: str,
        sip_port: int,
        rtp_port: int,
        api_port: int,
        flow_factory: FlowFactory = greeting_then_agent,
    ) -> None:
        self.settings = settings
        self.name = name
        self.address = settings.worker_address
        self.requested_sip_port = sip_port
        self.rtp_port = rtp_port
        self.api_port = api_port
        self.flow_factory = flow_factory
        self.db = Database.from_settings(settings)
        self.events = EventBus(name)
        self.taps = TapPump()
        self.frame_sinks: list[Callable[[TapFrame], None]] = []
        self.prompt_dir = Path(settings.var_dir) / "prompts"
        self.auto_answer = bool(settings.extra.get("auto_answer", True))
        self.intercom = IntercomHints(self.db, settings.sip_domain)  # per-vendor auto-answer
        self.agent_uris: dict[str, str] = dict(settings.extra.get("agent_uris", {}))
        self.worker_id: int | None = None
        self.conversations: dict[str, Conversation] = {}
        self.support_numbers: dict[str, tuple[str, str]] = {}
        self.refer_targets = TransferTargets()  # where an agent's REFER may send a caller
        self.loop = Loop(store_thread_setup=lambda: _register_thread("store"))
        self.post, self.later, self.store = self.loop.post, self.loop.later, self.loop.store
        self.call_on_loop = self.loop.call_on_loop
        self.admission = Admission(self.conversations, self.post)
        self._stopping = threading.Event()
        self.endpoint: Endpoint | None = None
        self.account: pj.Account | None = None
        self._api: Any = None
        self.callbacks = Callbacks(self, self.call_back)
        self.floor = FloorWatch(self.db, self.events)  # alerts and live lines for supervisors
        self.frame_sinks.append(self.floor.frame)

    def frame_sink(self, frame: TapFrame) -> None:
        for sink in self.frame_sinks:
            sink(frame)

    # -- start -------------------------------------------------------------------------------
    def start(self) -> None:
        self.endpoint = start_endpoint(
            self.address, self.requested_sip_port, self.rtp_port, max_calls=REQUESTED_MAX_CALLS
        )
        self.taps.start()
        account = WorkerAccount(self)
        config = pj.AccountConfig()
        config.idUri = f"sip:{self.name}@{self.address}:{self.endpoint.sip_port}"
        config.mediaConfig.transportConfig = self.endpoint.media_transport()
        account.create(config)
        self.account = account
        self.admission.measured(probe_max_calls(account, pj.Call, self.endpoint.pump))
        self._load_support_numbers()
        from telephony.api import ApiServer  # late: Flask is not needed to test the loop

        settings, token = self.settings, deployment_token(self.settings)
        guard = ControlGuard.for_names(token, control_names(settings))
        self._api = ApiServer(self, settings.control_address, self.api_port, guard)  # not serving
        self.worker_id = heartbeat.register_worker(
            self.db,
            self.name,
            self.address,
            os.getpid(),
            self.endpoint.sip_port,
            self.api_url,
            self.capacity,
        )
        heartbeat.Heartbeat(
            self.db,
            settings,
            self.worker_id,
            lambda: self.load,
            self._load_support_numbers,
            self._stopping,
        ).start()
        self.callbacks.start()
        self.floor.start()
        self._api.start()
        greeting = GREETING.format(company=self.settings.company_name)
        threading.Thread(  # not on the store thread: espeak-ng must not delay CDR writes
            target=render_prompt, args=(greeting, "en", self.prompt_dir), daemon=True
        ).start()
        threading.Thread(
            target=busy.prepare, args=(self.settings.company_name, self.prompt_dir), daemon=True
        ).start()
        log.info(
            "%s ready: sip %s:%d, api %s, capacity %d legs (library %d)",
            self.name,
            self.address,
            self.endpoint.sip_port,
            self.api_url,
            self.capacity,
            self.admission.library_max_calls,
        )

    @property
    def sip_port(self) -> int:
        return self.endpoint.sip_port if self.endpoint else self.requested_sip_port

    @property
    def api_url(self) -> str:
        return advertised_url(self.settings, self._api.port if self._api else self.api_port)

    def _load_support_numbers(self) -> None:
        with self.db.session() as session:
            rows = session.execute(
                select(SupportNumber.number, SupportNumber.locale, SupportNumber.queue)
            ).all()
            extensions = session.scalars(select(Device.extension)).all()
        self.support_numbers = {row.number: (row.locale, row.queue) for row in rows}
        hosts = (self.settings.sip_domain, self.settings.sip_address)
        queues = {row.number: row.queue for row in rows}
        self.refer_targets = TransferTargets.of(hosts, extensions, queues)

    # -- capacity (`telephony.admission`) and health -------------------------------------
    @property
    def capacity(self) -> int:
        return self.admission.capacity

    @property
    def load(self) -> int:
        """Live legs, as last counted on the loop (other threads never touch the legs)."""
        return self.admission.load

    def has_room(self, legs: int = 1) -> bool:
        return self.admission.has_room(legs)

    def health(self) -> dict[str, Any]:
        """The figures of ``GET /health``."""
        return {
            "worker": self.name,
            "capacity": self.capacity,
            "library_max_calls": self.admission.library_max_calls,
            "load": self.load,
            "calls": len(self.conversations),
            "rejected": self.admission.rejected_total,
            "sip_port": self.sip_port,
            "tap_frames": self.taps.delivered,
            "tap_frames_dropped": self.taps.dropped,
        }

    # -- legs and conversations ----------------------------------------------------------------
    def new_leg(self, owner: Conversation, role: str, peer: str) -> Leg:
        assert self.account is not None
        return Leg(self.account, self.post, owner, f"{owner.id}/{len(owner.legs) + 1}", role, peer)

    def resolve(self, target: str) -> str:
        """A SIP URI for an extension (through the edge's switch socket, the one where it trusts
        workers, or a configured direct URI) or a URI."""
        if target.startswith(("sip:", "sips:")):
            return target
        if target in self.agent_uris:
            return self.agent_uris[target]
        settings = self.settings
        return f"sip:{target}@{settings.edge_switch_address}:{settings.edge_switch_port}"

    def incoming(
        self, pjsua_call_id: int, request_user: str = "", device: str = "", overflow: bool = False
    ) -> None:
        """A new INVITE; *request_user* is the Request-URI's user, which the edge rewrites (a
        carrier's DID becomes its support number), so it wins over the To header. Without room,
        503 (the edge tries the next worker); when the edge says every worker is full
        (*overflow*), the spare slot answers with "all our lines are busy" (`callflow.busy`)."""
        assert self.account is not None
        flow_factory = self.flow_factory
        if not self.has_room():
            if not (overflow and self.admission.has_spare()):
                self.admission.reject(self.account, pjsua_call_id)
                return
            flow_factory = busy.all_lines_busy
        call_id = str(uuid.uuid4())
        leg = Leg(self.account, self.post, _UNOWNED, f"{call_id}/1", CUSTOMER, "", pjsua_call_id)
        info = leg.getInfo()
        leg.peer = info.remoteUri
        dialled = request_user or _user_of(info.localUri)
        if device and dialled in FEATURE_CODES and flow_factory is not busy.all_lines_busy:
            flow_factory = feature_code_flow(self.db, device)  # the edge names the device
        conversation = self._conversation(call_id, info.remoteUri, dialled, "inbound", flow_factory)
        leg.owner = conversation
        conversation.accept(leg, self.auto_answer or flow_factory is busy.all_lines_busy)
        self.admission.count()

    def _conversation(
        self,
        call_id: str,
        caller: str,
        dialled: str,
        direction: str,
        flow_factory: FlowFactory | None = None,
    ) -> Conversation:
        locale, queue_name = self.support_numbers.get(dialled, ("en", "support"))
        context = FlowContext(
            call_id=call_id,
            caller=caller,
            dialled=dialled,
            locale=locale,
            company=self.settings.company_name,
            queue=queue_name,
            prompt_dir=self.prompt_dir,
            recordings_dir=Path(self.settings.var_dir) / "recordings",
        )
        conversation = Conversation(
            self, call_id, caller, dialled, flow_factory or self.flow_factory, context, direction
        )
        self.conversations[call_id] = conversation
        return conversation

    def originate(self, to: str, agent_first: str | None, intercom: bool = False) -> str:
        if not self.has_room():
            raise RuntimeError("worker full")
        call_id = str(uuid.uuid4())
        conversation = self._conversation(call_id, agent_first or self.name, to, "outbound")
        try:
            conversation.originate(to, agent_first, self.intercom.headers(to) if intercom else ())
        except pj.Error as error:
            conversation.end("originate failed")
            raise RuntimeError(error.info()) from error
        return call_id

    def call_back(self, offer: Offer, auto_answer: bool) -> None:
        """Place a claimed callback request (see `telephony.queueing.Callbacks`)."""
        number = offer.callback_number or ""
        conversation = self._conversation(str(uuid.uuid4()), self.name, number, "outbound")
        try:
            conversation.call_back(offer, auto_answer)
        except pj.Error as error:
            log.warning("callback to %s failed: %s", number, error.info())
            conversation.end("callback failed")

    def finished(self, conversation: Conversation) -> None:
        def forget() -> None:
            if self.conversations.pop(conversation.id, None) is not None:
                conversation.dispose()

        self.post(forget)

    # -- run and stop --------------------------------------------------------------------------
    def run(self) -> None:
        assert self.endpoint is not None
        while not self._stopping.is_set():
            self.endpoint.pump(10)
            self.loop.run_jobs()
            self.loop.run_timers()
            self.admission.count()
        self._shutdown()

    def stop(self) -> None:
        self._stopping.set()

    def _shutdown(self) -> None:
        assert self.endpoint is not None
        log.info("%s stopping: %d live calls", self.name, len(self.conversations))
        for conversation in list(self.conversations.values()):
            conversation.end("worker shutdown")
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            self.endpoint.pump(20)
            self.loop.run_jobs()
        if self._api is not None:
            self._api.stop()
        if self.worker_id is not None:
            worker_id, sip_port = self.worker_id, self.endpoint.sip_port
            self.store(
                lambda: heartbeat.unregister_worker(self.db, worker_id, self.address, sip_port)
            )
        self.loop.finish_store()
        self.floor.stop()
        self.taps.stop()
        self.endpoint.lib.audDevManager().setNoDev()  # stop the conference clock: no more
        self.taps.destroy_taps()  # frame callbacks, so the tap ports can go safely

        def drop() -> None:
            self.loop.run_jobs()
            self.loop.clear_timers()
            for conversation in self.conversations.values():
                conversation.dispose()
            self.conversations.clear()
            self.admission.clear()
            gc.collect()
            if self.account is not None:
                self.account.shutdown()
            self.account = None

        stop_endpoint(self.endpoint, drop, drain_seconds=0.2)
        self.db.dispose()
        log.info("%s stopped", self.name)


def _register_thread(name: str) -> None:
    pj.Endpoint.instance().libRegisterThread(name)


def _device_of(message: str) -> str:
    """The authenticated device the edge named in ``X-Centralino-Device`` ("" when none)."""
    head = message.split("\r\n\r\n", 1)[0]
    for line in head.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "x-centralino-device":
            return value.strip()[:64]
    return ""


def _request_user(message: str) -> str:
    """``800`` from an INVITE whose first line is ``INVITE sip:800@host SIP/2.0``."""
    parts = message.split("\r\n", 1)[0].split(" ")
    return _user_of(parts[1]) if len(parts) == 3 else ""


def _user_of(uri: str) -> str:
    """``800`` from ``<sip:800@127.0.0.1:5080>`` (the dialled number of an INVITE's To)."""
    text = uri.strip().lstrip("<").split(">")[0]
    text = text.split(":", 1)[1] if ":" in text else text
    return text.split("@", 1)[0] if "@" in text else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="centralino switch", description="Run one pjsua2 switch worker behind the SIP edge."
    )
    parser.add_argument("--index", type=int, default=1, help="worker number n (ports base+n)")
    parser.add_argument("--config", help="TOML configuration file (else CENTRALINO_CONFIG)")
    parser.add_argument("--name", help="worker name in the store (default switch-<index>)")
    parser.add_argument("--sip-port", type=int, help="SIP UDP port (default 5080+n)")
    parser.add_argument("--rtp-port", type=int, help="first RTP port (default 20000+100n)")
    parser.add_argument("--api-port", type=int, help="control API port (default 8790+n)")
    parser.add_argument("--log-level", help="DEBUG, INFO, WARNING (else CENTRALINO_LOG_LEVEL)")
    args = parser.parse_args(argv)
    private_umask()  # prompts, recordings and anything else it writes under var/ stay private
    setup_logging(args.log_level)
    settings = load_settings(args.config)
    n = args.index
    worker = Worker(
        settings,
        name=args.name or f"switch-{n}",
        sip_port=args.sip_port if args.sip_port is not None else settings.worker_sip_base_port + n,
        rtp_port=args.rtp_port or settings.worker_rtp_base_port + 100 * n,
        api_port=args.api_port if args.api_port is not None else settings.worker_api_base_port + n,
        flow_factory=load_flow_factory(settings.extra.get("flow"), settings),
    )
    # A signal during start-up (models, capacity probe: slow on a loaded machine) ends the
    # process at once; the reaper closes its row. Once it serves, a signal ends its calls first.
    worker.start()
    signal.signal(signal.SIGTERM, lambda *_: worker.stop())
    signal.signal(signal.SIGINT, lambda *_: worker.stop())
    worker.run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""A desk phone on a live call: the worker's intercom call carries the phone's vendor's
auto-answer header and the phone answers at once; a check-sync queued meanwhile is held (the
edge sees the dialog) and sent when the call ends, and the phone then fetches its file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from console.provisioning.enrol import enrol_desk_phone
from console.testing.console_process import ConsoleProcess
from store.desk_phones import config_changed, last_command
from telephony.testing.deployment import Deployment
from telephony.testing.deskphone import DeskPhone
from telephony.testing.edge import EdgeUnderTest, make_settings, running_edge
from telephony.testing.workers import WorkerProcess, wait_until


@pytest.fixture
def worker(edge: EdgeUnderTest, tmp_path: Path) -> Iterator[WorkerProcess]:
    deployment = Deployment(tmp_path, db_url=edge.settings.database_url)
    config = deployment.config(edge=edge.address, switch=edge.switch_address,
                               sip_domain=edge.settings.sip_domain)
    started = deployment.worker(1, config)
    wait_until(lambda: f"sip:{started.sip_uri_host}" in edge.edge.rpc("dispatcher.list"), 12,
               "Kamailio routes to the worker", interval=0.3)
    yield started
    deployment.close()


def command_state(edge: EdgeUnderTest, device_id: int) -> str:
    with edge.db.session() as session:
        command = last_command(session, device_id, ("check-sync",))
        return command.state if command is not None else ""


@pytest.mark.parametrize("vendor_name", ["polycom", "snom"])
def test_intercom_is_answered_and_a_check_sync_waits_for_the_end_of_the_call(
    edge: EdgeUnderTest, worker: WorkerProcess, tmp_path: Path, vendor_name: str
) -> None:
    console = ConsoleProcess(tmp_path, edge.settings.database_url).start()
    enrolled = enrol_desk_phone(edge.db, tmp_path, mac="00:04:f2:00:01:01",
                                vendor_name=vendor_name, extension="3301",
                                sip_domain=edge.settings.sip_domain)
    phone = DeskPhone(vendor_name, enrolled.mac, enrolled.token, "3301", enrolled.sip_password,
                      edge.settings.sip_domain, edge.address,
                      f"http://127.0.0.1:{console.port}/provisioning/")
    try:
        assert phone.register() == 200
        # The intercom hint is this vendor's: the phone answers only that (else 486).
        assert worker.post("/calls", {"to": "3301", "intercom": True}).status_code == 201
        phone.wait(lambda: phone.auto_answered, 10, "intercom call answered")
        dialog = phone.dialogs[0]
        wait_until(lambda: "3301" in edge.edge.rpc("dlg.list"), 5, "the edge has the dialog")

        config_changed(edge.db, enrolled.device_id)
        wait_until(lambda: command_state(edge, enrolled.device_id) == "held", 5, "held")
        assert not phone.notifies  # never to a phone on a call
        phone.hang_up(dialog)

        phone.wait(lambda: phone.fetched, 15, "fetch after the call")
        assert command_state(edge, enrolled.device_id) == "sent"
        assert all(status == 200 for _, status in phone.fetched)
    finally:
        phone.close()
        console.stop()


@pytest.fixture
def impatient_edge(tmp_path: Path) -> Iterator[EdgeUnderTest]:
    settings = make_settings(tmp_path, heartbeat_seconds=0.5, stale_after_seconds=2.0,
                             phone_hold_seconds=1.5)
    with running_edge(tmp_path, settings=settings) as running:
        yield running


def test_a_check_sync_held_by_a_dialog_that_never_ends_gives_up_with_the_reason(
    impatient_edge: EdgeUnderTest, tmp_path: Path
) -> None:
    edge = impatient_edge
    deployment = Deployment(tmp_path, db_url=edge.settings.database_url)
    config = deployment.config(edge=edge.address, switch=edge.switch_address,
                               sip_domain=edge.settings.sip_domain)
    worker = deployment.worker(1, config)
    enrolled = enrol_desk_phone(edge.db, tmp_path, mac="00:15:65:00:01:09",
                                vendor_name="yealink", extension="3309",
                                sip_domain=edge.settings.sip_domain)
    phone = DeskPhone("yealink", enrolled.mac, enrolled.token, "3309", enrolled.sip_password,
                      edge.settings.sip_domain, edge.address, "http://127.0.0.1:9/")
    try:
        wait_until(lambda: f"sip:{worker.sip_uri_host}" in edge.edge.rpc("dispatcher.list"),
                   12, "Kamailio routes to the worker", interval=0.3)
        assert phone.register() == 200
        assert worker.post("/calls", {"to": "3309", "intercom": True}).status_code == 201
        phone.wait(lambda: phone.auto_answered, 10, "intercom call answered")
        wait_until(lambda: "3309" in edge.edge.rpc("dlg.list"), 5, "the edge has the dialog")

        config_changed(edge.db, enrolled.device_id)
        wait_until(lambda: command_state(edge, enrolled.device_id) == "expired", 10,
                   "given up while the dialog is still open")
        with edge.db.session() as session:
            command = last_command(session, enrolled.device_id, ("check-sync",))
            assert command is not None and command.sent_at is None
            assert command.reason is not None and command.reason.startswith("gave up after 1.5 s")
        assert not phone.notifies  # still never to a phone in a dialog
    finally:
        phone.close()
        deployment.close()

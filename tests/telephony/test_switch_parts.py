"""Small parts of the switch that need no SIP: the event bus, URI parsing, the probe's 503."""

from __future__ import annotations

import re

import pytest

from telephony.callflow import DEFAULT_FLOW, load_flow_factory
from telephony.callflow.greeting import greeting_then_agent
from telephony.capacity import _reply_503
from telephony.events import EventBus
from telephony.worker import _user_of


def test_event_bus_stamps_events_and_never_blocks_on_a_slow_subscriber() -> None:
    bus = EventBus("w1", capacity=3)
    slow = bus.subscribe()
    for n in range(5):
        bus.publish("dtmf", "call-1", "call-1/1", digit=str(n), method="info")
    got = [slow.get(0.1) for _ in range(3)]
    assert [e["digit"] for e in got if e] == ["2", "3", "4"]
    assert slow.dropped == 2
    first = got[0]
    assert first is not None
    assert first["type"] == "dtmf" and first["worker"] == "w1" and first["leg_id"] == "call-1/1"
    assert first["at"].endswith("Z")
    slow.close()
    bus.publish("ended", "call-1")
    assert slow.get(0.01) is None


def test_dialled_number_is_the_user_part_of_the_to_uri() -> None:
    assert _user_of("<sip:800@127.0.0.1:5080>") == "800"
    assert _user_of("sip:+390212345678@carrier.example;user=phone") == "+390212345678"
    assert _user_of("<sip:127.0.0.1>") == ""


def test_capacity_probe_answers_invites_with_503_and_ignores_the_rest() -> None:
    invite = (
        b"INVITE sip:capacity-probe@127.0.0.1:9 SIP/2.0\r\n"
        b"Via: SIP/2.0/UDP 127.0.0.1:5080;rport;branch=z9hG4bK1\r\n"
        b"From: <sip:w@127.0.0.1>;tag=a\r\n"
        b"To: <sip:capacity-probe@127.0.0.1:9>\r\n"
        b"Call-ID: probe-1\r\n"
        b"CSeq: 1 INVITE\r\n"
        b"Content-Length: 0\r\n\r\n"
    )
    reply = _reply_503(invite)
    assert reply is not None
    text = reply.decode()
    assert text.startswith("SIP/2.0 503 ")
    assert "To: <sip:capacity-probe@127.0.0.1:9>;tag=probe\r\n" in text
    assert "Call-ID: probe-1\r\n" in text and "CSeq: 1 INVITE\r\n" in text
    assert _reply_503(b"ACK sip:x@127.0.0.1 SIP/2.0\r\n\r\n") is None


def test_the_flow_factory_is_named_in_the_configuration() -> None:
    assert DEFAULT_FLOW == "telephony.callflow.ivr:IvrFlows"
    spec = "telephony.callflow.greeting:greeting_then_agent"
    assert load_flow_factory(spec) is greeting_then_agent
    with pytest.raises(ValueError, match=r"expected 'package\.module:function'"):
        load_flow_factory("telephony.callflow.greeting")


def test_a_flow_of_an_earlier_release_is_told_its_new_name() -> None:
    ivr = re.escape("set extra.flow = 'telephony.callflow.ivr:IvrFlows'")
    with pytest.raises(ValueError, match=ivr):
        load_flow_factory("telephony.ivr_call:IvrFlows")
    greeting = re.escape("telephony.callflow.greeting:greeting_then_agent")
    with pytest.raises(ValueError, match=greeting):
        load_flow_factory("telephony.flow:greeting_then_agent")

"""Refer-To values and the transfers they may become (pure logic; REFER on the wire is in
test_switch_refer.py)."""

from __future__ import annotations

import pytest

from telephony.refer import ReferRefused, ReferTo, TransferTargets

TARGETS = TransferTargets.of(
    hosts=["centralino.local", "192.0.2.10"],
    extensions=["1001", "1002"],
    queues={"800": "support", "801": "billing"},
)


@pytest.mark.parametrize(
    ("value", "user", "host"),
    [
        ("<sip:1002@centralino.local>", "1002", "centralino.local"),
        ('"Bruno" <sip:1002@192.0.2.10:5060;transport=udp>;x=1', "1002", "192.0.2.10"),
        ("sip:1002@Centralino.Local;user=phone", "1002", "centralino.local"),
        ("sips:800@[2001:db8::1]:5061", "800", "2001:db8::1"),
    ],
)
def test_refer_to_forms_are_read(value: str, user: str, host: str) -> None:
    assert ReferTo.parse(value) == ReferTo(user, host)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("<tel:+390212345678>", "not a SIP URI"),
        ("<http://evil.example/>", "not a SIP URI"),
        ("<sip:1002@centralino.local?Replaces=a%3Bto-tag%3Db>", "Replaces"),
        ("<sip:centralino.local>", "names no extension"),
        ("<sip:1002:secret@centralino.local>", "names no extension"),
        ("<sip:10%30@centralino.local>", "names no extension"),
        ("<sip:'OR(1=1)--@centralino.local>", "names no extension"),
        ("sip:" + "1" * 33 + "@centralino.local", "names no extension"),
        (">sip:1002@centralino.local<", "unclosed"),
    ],
)
def test_odd_refer_to_values_are_refused_with_a_reason(value: str, reason: str) -> None:
    with pytest.raises(ReferRefused, match=reason):
        ReferTo.parse(value)


def test_targets_are_extensions_and_support_numbers_on_our_hosts() -> None:
    assert TARGETS.target("<sip:1002@centralino.local>") == "1002"
    assert TARGETS.target("sip:801@192.0.2.10:5060") == "queue:billing"
    with pytest.raises(ReferRefused, match="not this deployment"):
        TARGETS.target("<sip:1002@evil.example.org>")
    with pytest.raises(ReferRefused, match="neither an extension nor a support number"):
        TARGETS.target("<sip:+15551234567@centralino.local>")
    assert TransferTargets().hosts == frozenset()  # a worker that has not loaded them refuses
    with pytest.raises(ReferRefused):
        TransferTargets().target("<sip:1002@centralino.local>")

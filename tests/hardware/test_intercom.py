"""Which INVITEs the headset answers at once: Call-Info answer-after and Alert-Info variants."""

from __future__ import annotations

import pytest

from hardware.headset.intercom import answer_after
from hardware.provisioning import VENDORS


def invite(*headers: str) -> str:
    return "\r\n".join(["INVITE sip:1001@10.0.0.5 SIP/2.0", "Via: SIP/2.0/UDP 10.0.0.5",
                        *headers, "Content-Length: 0", "", "v=0"])


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("Call-Info: <sip:10.0.0.5>;answer-after=0", 0.0),
        ("Call-Info: <sip:10.0.0.5> ; Answer-After = 3", 3.0),
        ("call-info: <sip:10.0.0.5>;answer-after=900", 60.0),  # capped
        ("Alert-Info: <http://10.0.0.5/>;info=alert-autoanswer", 0.0),
        ("Alert-Info: Auto Answer", 0.0),
    ],
)
def test_intercom_headers_ask_for_an_answer(header: str, seconds: float) -> None:
    assert answer_after(invite(header)) == seconds


@pytest.mark.parametrize(
    "header",
    ["Call-Info: <http://10.0.0.5/photo.png>;purpose=icon", "Alert-Info: <http://x/ring.wav>",
     "Subject: answer-after=0"],
)
def test_other_invites_ring(header: str) -> None:
    assert answer_after(invite(header)) is None


def test_a_header_in_the_body_does_not_count() -> None:
    assert answer_after(invite() + "\r\n\r\nCall-Info: <sip:x>;answer-after=0") is None


def test_the_headset_answers_what_every_desk_phone_vendor_is_sent() -> None:
    for cls in VENDORS.values():
        headers = cls().auto_answer_headers("10.0.0.5")
        assert answer_after(invite(*(f"{k}: {v}" for k, v in headers.items()))) == 0.0

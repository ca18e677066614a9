"""SIPVicious against the running edge, with its own User-Agent (dropped on sight) and with a
desk phone's (which only the edge's behaviour can defeat): svwar finds no extension, svcrack
does not find a device's password at the end of a 300-word dictionary."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from store.models import SupportNumber
from telephony.edge import EdgeTuning
from telephony.testing.edge import EdgeUnderTest, running_edge
from tests.harness.scanner import PHONE_USER_AGENT, TOOL_USER_AGENT, run_scanner
from tests.harness.sipclient import SipClient

pytestmark = pytest.mark.e2e

USER_AGENTS = {"tool's user agent": TOOL_USER_AGENT, "a phone's user agent": PHONE_USER_AGENT}
PASSWORD = "tangerine-harbour-42"


@pytest.fixture
def edge(tmp_path: Path) -> Iterator[EdgeUnderTest]:
    with running_edge(tmp_path, EdgeTuning(min_expires=1)) as running:  # default limits
        yield running


def dictionary(directory: Path, password: str, position: int) -> Path:
    words = [f"{name}{n}" for n in range(30) for name in (
        "summer", "winter", "autumn", "spring", "dragon", "monkey", "shadow", "master", "qwerty",
        "letmein")]
    words.insert(position, password)
    assert len(words) == 301 and words.index(password) == position
    path = directory / "passwords.txt"
    path.write_text("\n".join(words[:300] if position < 300 else words[1:]) + "\n")
    return path


def svcrack(edge: EdgeUnderTest, user_agent: str, words: Path) -> str:
    host, port = edge.address
    return run_scanner("svcrack", user_agent, "-u", "1001", "-d", str(words), "-p", str(port),
                       "-t", "0.005", "--maximumtime=1", host).output


def svwar(edge: EdgeUnderTest, user_agent: str, extension: str, method: str) -> str:
    host, port = edge.address
    return run_scanner("svwar", user_agent, f"-e{extension}", "-m", method, "--force",
                       "-p", str(port), "-t", "0.01", "--maximumtime=1", host).output


@pytest.mark.parametrize("agent", USER_AGENTS)
def test_svcrack_does_not_find_a_password_at_the_end_of_a_300_word_dictionary(
    edge: EdgeUnderTest, tmp_path: Path, agent: str
):
    edge.add_device("1001", PASSWORD)
    desk_phone = SipClient(edge.address, local_ip="127.0.0.9")
    assert desk_phone.register("1001", PASSWORD, edge.settings.sip_domain).status == 200
    output = svcrack(edge, USER_AGENTS[agent], dictionary(tmp_path, PASSWORD, 300))
    assert PASSWORD not in output
    assert "found nothing" in output, output[-2000:]
    # The attack did not lock the device itself out.
    assert desk_phone.register("1001", PASSWORD, edge.settings.sip_domain).status == 200
    desk_phone.close()


def test_svcrack_works_here_it_finds_a_password_early_in_the_dictionary(
    edge: EdgeUnderTest, tmp_path: Path
):
    """The control: the tool speaks our digest (qop=auth) fine; the limits are what stop it."""
    edge.add_device("1001", PASSWORD)
    output = svcrack(edge, PHONE_USER_AGENT, dictionary(tmp_path, PASSWORD, 3))
    assert PASSWORD in output, output[-2000:]


@pytest.mark.parametrize("method", ["REGISTER", "INVITE", "OPTIONS"])
@pytest.mark.parametrize("agent", USER_AGENTS)
def test_svwar_finds_no_extension(edge: EdgeUnderTest, agent: str, method: str):
    edge.add_device("1001", PASSWORD)
    edge.add_device("1002")
    with SipClient(edge.address, local_ip="127.0.0.9") as phone:
        assert phone.register("1001", PASSWORD, edge.settings.sip_domain).status == 200
    for extension in ("1001", "1002"):  # registered, and provisioned but offline
        output = svwar(edge, USER_AGENTS[agent], extension, method)
        assert "exists" not in output, output[-2000:]
        assert "found nothing" in output, output[-2000:]


def test_svwar_works_here_it_finds_a_public_support_number(edge: EdgeUnderTest):
    """The control: what the edge answers differently, svwar reports. A support number is
    public by design (it is printed on invoices), so that is the one thing it may find."""
    with edge.db.session() as session:
        session.add(SupportNumber(number="800", name="support"))
    edge.edge.sync_numbers()
    output = svwar(edge, PHONE_USER_AGENT, "800", "INVITE")
    assert "extension '800'" in output, output[-2000:]

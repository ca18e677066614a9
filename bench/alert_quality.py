"""Alert quality: precision and recall of the upset and topic alerts on a labelled set.

The set is built here, every run, from two sources no test or tuning of `ivr.alerts` uses:

- espeak-ng Korean, three synthetic callers (espeak pitch and speed), each saying a greeting
  answer (their baseline) then one sentence, neutral or with a watched phrase (the five seeded
  ``ko`` phrases: 해지, 변호사, 민원, 환불, 고소), in one of three scripted voices: ``calm`` (as
  the baseline), ``mild`` (+1 semitone, +2 dB: a caller warming up, labelled not upset) and
  ``raised`` (+4 semitones, +9 dB, 15 % faster: labelled upset). Sox makes the changes.
- pocketsphinx-testdata's librivox recordings (one English reader): the first is the baseline,
  each other one in the three voices; its words are the set's reference transcription (there
  is no English model here), so these cases test the voice and word-mood path, not the ASR.

Path (say so beside the numbers): audio at 8 kHz -> the Vosk ``ko`` model in-process (the
model the speech service loads; `dsp.speech.recognizer`) for the words, `dsp.prosody` for the
voice, `ivr.alerts.CallWatch` with the default thresholds for the alerts, exactly as the
worker's floor watch feeds it; no SIP. Side by side: the same rules on the reference text
(the ASR's share of the misses) and words alone without prosody (what the voice adds).

Run: ``.venv/bin/python -m bench alert_quality``; writes ``bench/results/alert_quality.json``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # also runnable as ``python bench/alert_quality.py``
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench.report import machine, result_path, table, write_result  # noqa: E402
from ivr.alerts.watch import CallWatch, WatchConfig  # noqa: E402
from ivr.prompts import read_wav  # noqa: E402

DEFAULT_OUTPUT = result_path("alert_quality")
RATE = 8000
LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")
KO_PHRASES = ("해지", "변호사", "민원", "환불", "고소")
EN_PHRASES = ("cancel", "lawyer", "complaint", "refund", "manager")
KO_BASELINE = "네. 안녕하세요. 오늘 전화 드렸습니다."
KO_NEUTRAL = (
    "제 계좌 번호를 말씀드리겠습니다.",
    "요금 안내를 부탁드립니다.",
    "주소를 바꾸고 싶습니다.",
)
KO_WATCHED = {
    "해지": "계약을 해지하고 싶습니다.",
    "변호사": "변호사와 상의하겠습니다.",
    "민원": "민원을 넣겠습니다.",
    "환불": "환불을 받고 싶습니다.",
    "고소": "고소하겠습니다.",
}
#: espeak-ng callers: (pitch 0-99, words per minute)
CALLERS = ((30, 160), (50, 175), (70, 150))
#: voice -> (semitones, dB, tempo) applied by sox, and whether it is labelled upset
VOICES: dict[str, tuple[float, float, float, bool]] = {
    "calm": (0.0, 0.0, 1.0, False),
    "mild": (1.0, 2.0, 1.0, False),
    "raised": (4.0, 9.0, 1.15, True),
}


@dataclass
class Case:
    source: str
    locale: str
    baseline: Path
    baseline_text: str
    utterance: Path
    text: str  # what was said (the label's truth)
    voice: str
    upset: bool
    phrase: str | None


@dataclass
class Outcome:
    case: str
    heard: str
    upset: dict[str, bool]  # path -> raised an upset alert
    topic: dict[str, str | None]  # path -> the phrase alerted


def sox(source: Path, out: Path, voice: str, base_gain_db: float = -12.0) -> Path:
    semitones, gain, tempo, _ = VOICES[voice]
    effects = ["gain", "-n", str(base_gain_db + gain)]
    if semitones:
        effects += ["pitch", str(round(semitones * 100))]
    if tempo != 1.0:
        effects += ["tempo", "-s", str(tempo)]
    subprocess.run(
        ["sox", str(source), "-r", str(RATE), "-c", "1", "-b", "16", str(out), *effects],
        check=True,
        capture_output=True,
    )
    return out


def espeak(text: str, pitch: int, speed: int, out: Path) -> Path:
    subprocess.run(
        ["espeak-ng", "-v", "ko", "-p", str(pitch), "-s", str(speed), "-w", str(out), text],
        check=True,
        capture_output=True,
    )
    return out


def build_set(work: Path) -> list[Case]:
    cases: list[Case] = []
    for n, (pitch, speed) in enumerate(CALLERS):
        base = sox(
            espeak(KO_BASELINE, pitch, speed, work / f"ko{n}-base-raw.wav"),
            work / f"ko{n}-base.wav",
            "calm",
        )
        sentences = [(t, None) for t in KO_NEUTRAL] + [(t, p) for p, t in KO_WATCHED.items()]
        for k, (text, phrase) in enumerate(sentences):
            raw = espeak(text, pitch, speed, work / f"ko{n}-{k}-raw.wav")
            for voice, (*_, upset) in VOICES.items():
                out = sox(raw, work / f"ko{n}-{k}-{voice}.wav", voice)
                cases.append(
                    Case(
                        f"espeak-ko caller {n}",
                        "ko",
                        base,
                        KO_BASELINE,
                        out,
                        text,
                        voice,
                        upset,
                        phrase,
                    )
                )
    if LIBRIVOX.is_dir():
        texts = {}
        for line in (LIBRIVOX / "transcription").read_text().splitlines():
            words, _, name = line.rpartition("(")
            texts[name.strip(") ")] = words.replace("<s>", "").replace("</s>", "").strip()
        names = sorted(texts)
        base = sox(LIBRIVOX / f"{names[0]}.wav", work / "lv-base.wav", "calm")
        for name in names[1:]:
            for voice, (*_, upset) in VOICES.items():
                out = sox(LIBRIVOX / f"{name}.wav", work / f"lv-{name[-4:]}-{voice}.wav", voice)
                cases.append(
                    Case(
                        "librivox (en)",
                        "en",
                        base,
                        texts[names[0]],
                        out,
                        texts[name],
                        voice,
                        upset,
                        None,
                    )
                )
    return cases


class Recognizer:
    """The Vosk ``ko`` model, one recognizer per utterance (as the speech service does)."""

    def __init__(self) -> None:
        from dsp.speech.models import load_model, packaged_model_dir

        path = packaged_model_dir("ko")
        if path is None:
            raise SystemExit("the Vosk ko model is not installed (scripts/install.sh test)")
        self.model = load_model("ko", path)

    def text(self, samples: np.ndarray) -> str:
        from dsp.speech.recognizer import StreamingRecognizer

        stream = StreamingRecognizer(self.model, RATE)
        pcm = np.concatenate([samples, np.zeros(RATE // 2, dtype=np.int16)])
        parts = []
        for start in range(0, len(pcm), 1600):
            result = stream.accept(pcm[start : start + 1600])
            if result.final and result.text:
                parts.append(result.text)
        last = stream.finish()
        if last.text:
            parts.append(last.text)
        return " ".join(parts)


def judge(case: Case, heard: str, with_voice: bool) -> tuple[bool, str | None]:
    """Feed one call's two utterances to a `CallWatch`: (upset raised, phrase alerted)."""
    from dsp.prosody import analyse_utterance

    phrases = KO_PHRASES if case.locale == "ko" else EN_PHRASES
    watch = CallWatch(case.locale, 0.0, WatchConfig.build((), phrases))
    kinds: list[Any] = []
    for at, (wav, text) in enumerate(
        [(case.baseline, case.baseline_text), (case.utterance, heard)]
    ):
        samples, rate = read_wav(wav)
        if with_voice:
            features = asdict(analyse_utterance(samples, rate))
            kinds += watch.utterance(features, 10.0 * at + 5)[1]
        kinds += watch.heard("caller", text or "…", 10.0 * at + 5.2)[1]
    upset = any(a.kind == "upset" for a in kinds)
    topic = next((a.detail.get("phrase") for a in kinds if a.kind == "topic"), None)
    return upset, topic


def scores(pairs: list[tuple[bool, bool]]) -> dict[str, Any]:
    """Precision, recall and counts from (labelled, raised) pairs."""
    tp = sum(1 for label, got in pairs if label and got)
    fp = sum(1 for label, got in pairs if not label and got)
    fn = sum(1 for label, got in pairs if label and not got)
    return {
        "precision": round(tp / (tp + fp), 3) if tp + fp else None,
        "recall": round(tp / (tp + fn), 3) if tp + fn else None,
        "true_positives": tp,
        "false_positives": fp,
        "false_negatives": fn,
        "cases": len(pairs),
    }


def run() -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="bench-alerts-"))
    cases = build_set(work)
    recognizer = Recognizer()
    outcomes: list[Outcome] = []
    for case in cases:
        samples, _ = read_wav(case.utterance)
        heard = recognizer.text(samples) if case.locale == "ko" else case.text
        paths = {
            "asr+voice": judge(case, heard, True),
            "reference text+voice": judge(case, case.text, True),
            "asr, words alone": judge(case, heard, False),
        }
        outcomes.append(
            Outcome(
                f"{case.source} · {case.voice} · {case.text[:30]}",
                heard,
                {p: got[0] for p, got in paths.items()},
                {p: got[1] for p, got in paths.items()},
            )
        )
    result: dict[str, Any] = {"paths": {}}
    for path in ("asr+voice", "reference text+voice", "asr, words alone"):
        upset = [(c.upset, o.upset[path]) for c, o in zip(cases, outcomes, strict=True)]
        topic = [
            (c.phrase is not None, o.topic[path] is not None and o.topic[path] == c.phrase)
            if c.phrase or o.topic[path] is None
            else (False, True)
            for c, o in zip(cases, outcomes, strict=True)
        ]
        result["paths"][path] = {"upset": scores(upset), "topic": scores(topic)}
    result["cases"] = [
        {
            **asdict(o),
            "voice": c.voice,
            "labelled_upset": c.upset,
            "phrase": c.phrase,
            "said": c.text,
            "source": c.source,
        }
        for c, o in zip(cases, outcomes, strict=True)
    ]
    result["set"] = {
        "espeak_ko_cases": sum(1 for c in cases if c.locale == "ko"),
        "librivox_cases": sum(1 for c in cases if c.locale == "en"),
        "voices": {
            v: {"semitones": s, "db": d, "tempo": t, "upset": u}
            for v, (s, d, t, u) in VOICES.items()
        },
    }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench alert_quality",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    result = run()
    rows = []
    for path, both in result["paths"].items():
        for kind in ("upset", "topic"):
            s = both[kind]
            rows.append(
                [
                    path,
                    kind,
                    s["precision"],
                    s["recall"],
                    s["true_positives"],
                    s["false_positives"],
                    s["false_negatives"],
                    s["cases"],
                ]
            )
    print(table(["path", "alert", "precision", "recall", "tp", "fp", "fn", "cases"], rows, 3))
    result["machine"] = machine()
    result["goal"] = {"precision": 0.8, "recall": 0.7}
    write_result(args.output, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

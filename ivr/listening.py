"""The caller's media path in the IVR, one stage after another, from audio frames to IVR events.

Read `CallerListener.hear` top to bottom: each 20 ms frame of the caller's audio is paired with
the frame we sent them (the echo reference) ->

1. echo canceller: what came back minus the echo of our prompt;
2. voice activity on the cleaned audio, told how loud our side has been lately and how loud the
   frame was before the canceller (its echo gate: a frame the canceller did not clean must beat
   the echo path's own coupling, so an unconverged or re-learning canceller lets no echo by);
3. in-band DTMF on the caller's raw audio (tones are not speech: a key hides its own voice
   activity, so a keyed account number never looks like an answer);
4. prosody of the voiced frames, closed at the end of each utterance;
5. the speech client gets every cleaned frame (it only queues: recognition runs elsewhere),
   and is told when the caller pauses (120 ms), so the recognizer's final comes at once; one
   utterance is also ended while the caller is quiet (after 2 s, during the greeting), its
   final dropped, so a stream's first real final is not its first final (the slowest);

and out come `SpeechStarted`, `SpeechEnded(prosody)`, `DtmfDigit(method="inband")`, and, from the
speech client's own thread, `SpeechRecognised` events. Nothing here blocks: the DSP stages are numba
kernels of well under a millisecond a frame, and the speech client's ``feed`` only appends.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections import deque
from collections.abc import Callable

import numpy as np

from dsp.aec import EchoCanceller
from dsp.clock import CLOCK_RATE
from dsp.dtmf import DtmfDetector
from dsp.prosody import ProsodyTracker
from dsp.speech.client import GapCallback, SpeechClient, Transcript
from dsp.speech.gate import SpeechGate
from dsp.vad import VadSettings, VoiceActivityDetector, far_end_level
from ivr.events import DtmfDigit, Event, SpeechEnded, SpeechRecognised, SpeechStarted

log = logging.getLogger("centralino.ivr.listening")

#: Echo tail the canceller covers: two jitter buffers and the phone's own path fit in it.
ECHO_TAIL_MS = 320
#: Until the canceller has converged, the echo may come back this loud (dB under what we
#: play) and still count as echo; the voice detector learns the real residual from there down.
INITIAL_ECHO_COUPLING_DB = -12.0
#: Our side counts as playing for this long after its last loud frame (the echo comes late).
FAR_MEMORY_FRAMES = 20
#: Our frames quieter than this are not worth gating the voice detector for.
FAR_SILENT_DBFS = -55.0
#: Reference frames waiting for their caller frame; beyond this the oldest are dropped, so the
#: reference never falls behind the caller's audio (while the caller's stream has not started,
#: or lost frames, our side keeps playing): an echo must never come before its reference.
MAX_PENDING_FAR = 2
#: Frames without a speech-like one that end the recognizer's utterance (a pause, 120 ms: longer
#: than the gaps inside words; the IVR joins the finals of one turn).
PAUSE_FRAMES = 6
#: Frames after which the stream's first (empty) final is asked for while the caller is quiet:
#: the recognizer's first decode of a stream is its slowest, and it should not be the answer's.
WARM_FRAMES = 100
#: Voice activity must last this many frames without a key going down to count as speech.
SPEECH_CONFIRM_FRAMES = 2

EventSink = Callable[[Event], None]
TranscriptSink = Callable[[Transcript], None]


class CallerListener:
    """One caller leg's listening chain; `hear` and `sent` from one thread (the tap consumer)."""

    def __init__(
        self,
        on_event: EventSink,
        clock_rate: int = CLOCK_RATE,
        speech_url: str | None = None,
        on_transcript: TranscriptSink | None = None,
        on_speech_error: Callable[[str], None] | None = None,
        speech_token: str | None = None,
        on_speech_gap: GapCallback | None = None,
    ) -> None:
        self.on_event = on_event
        self.on_transcript = on_transcript
        self.clock_rate = clock_rate
        self.frame = clock_rate // 50
        self.echo = EchoCanceller(clock_rate, tail_ms=ECHO_TAIL_MS, frame=self.frame)
        self.voice = VoiceActivityDetector(
            clock_rate, VadSettings(initial_coupling_db=INITIAL_ECHO_COUPLING_DB)
        )
        self.keys = DtmfDetector(clock_rate)
        self.prosody = ProsodyTracker(clock_rate)
        self.speech = (
            SpeechClient(
                speech_url,
                sample_rate=clock_rate,
                on_result=self._recognised,
                on_error=on_speech_error,
                on_gap=on_speech_gap,
                name="speech-caller",
                token=speech_token,
            ).start()
            if speech_url
            else None
        )
        self._far: deque[np.ndarray] = deque()
        self._far_levels: deque[float] = deque([-math.inf], maxlen=FAR_MEMORY_FRAMES)
        self._silence = np.zeros(self.frame, dtype=np.int16)
        self._keyed = False  # a key went down in this run of voice activity: it was a tone
        self._onset = 0  # frames of voice activity not yet reported
        self._talking = False  # SpeechStarted was reported and SpeechEnded not yet
        self._quiet = 0  # frames since the last speech-like one
        self.gate: SpeechGate | None = None  # set by `gate_speech`
        self.frames = 0
        self.level_dbfs = self.played_dbfs = -math.inf  # the last frame's, for diagnostics

    # --- what we send: the echo reference --------------------------------------------------------

    def sent(self, samples: np.ndarray) -> None:
        """A frame we sent the caller (prompt or agent): the reference of its echo."""
        if len(self._far) >= MAX_PENDING_FAR:
            self._far.popleft()
        self._far.append(np.array(samples, dtype=np.int16))  # taps hand out read-only views

    # --- what the caller says: the chain ---------------------------------------------------------

    def hear(self, samples: np.ndarray) -> None:
        """A frame of the caller's audio, through every stage."""
        self.frames += 1
        samples = np.array(samples, dtype=np.int16)  # writable: numba types read-only apart
        far = self._far.popleft() if self._far else self._silence
        self._far_levels.append(far_end_level(far))

        cleaned = self.echo.process(samples, far)

        played = self.played_dbfs = max(self._far_levels)
        activity = self.voice.process(
            cleaned,
            far_end_dbfs=played if played > FAR_SILENT_DBFS else None,
            near_dbfs=far_end_level(samples),
            near=samples,
        )

        self.level_dbfs = activity.level_dbfs
        self._inband_keys(samples)
        self._pause_check(activity.score >= self.voice.settings.snr_db)
        if self.frames == WARM_FRAMES and self.speech and not self._talking and not self.gate:
            self.speech.end_utterance(deliver=False)  # warms the stream; its final is dropped
        self._voice(activity.speech, activity.ended, cleaned)

        if self.gate is not None:
            self.gate.push(cleaned, activity.speech)
        elif self.speech is not None:
            self.speech.feed(cleaned)

    def gate_speech(self) -> None:
        """From now on (after the bridge) send the recognizer only the voiced stretches, with a
        little padding (`dsp.speech.gate`): the same words for much less decoding."""
        if self.speech is not None and self.gate is None:
            self.gate = SpeechGate(self.speech)

    def _inband_keys(self, samples: np.ndarray) -> None:
        for key in self.keys.process(samples):
            if key.kind == "start":
                self._keyed = True
                self._onset = 0  # the tone's own voice activity is not speech
                self.on_event(DtmfDigit(key.digit, method="inband"))

    def _pause_check(self, speech_like: bool) -> None:
        """The caller paused (PAUSE_FRAMES without a speech-like frame): the recognizer's final
        now, not after its own second of silence; the turn ends later (end_of_utterance_ms)."""
        self._quiet = 0 if speech_like else self._quiet + 1
        if self._talking and self._quiet == PAUSE_FRAMES and self.speech and not self.gate:
            self.speech.end_utterance()

    def _voice(self, speech: bool, ended: bool, cleaned: np.ndarray) -> None:
        if not speech:
            self._keyed = False
        if speech and not self._talking:
            self._onset = 0 if self._keyed else self._onset + 1
            if self._onset >= SPEECH_CONFIRM_FRAMES:
                self._talking = True
                self.on_event(SpeechStarted())
        elif not self._talking:
            self._onset = 0
        if self._talking:
            self.prosody.add_frame(cleaned)
        if ended and self._talking:
            self._talking = False
            report = self.prosody.end_utterance()
            change = report.change if report is not None else None
            utterance = dataclasses.asdict(report.utterance) if report is not None else None
            self.on_event(
                SpeechEnded(dataclasses.asdict(change) if change is not None else None, utterance)
            )

    # --- recognition: results arrive on the speech client's thread -------------------------------

    def _recognised(self, result: Transcript) -> None:
        if self.on_transcript is not None:
            self.on_transcript(result)
        if result.text or result.final:
            self.on_event(SpeechRecognised(result.text, final=result.final))

    def close(self, timeout: float = 5.0) -> None:
        """Flush the speech stream (its last final result still arrives) and stop it."""
        if self.speech is not None and not self.speech.close(timeout):
            log.warning("speech stream did not close within %.1f s", timeout)


def warm_up(clock_rate: int = CLOCK_RATE) -> None:
    """Compile (or load from numba's cache) every kernel of the chain before calls arrive."""
    listener = CallerListener(lambda _event: None, clock_rate)
    frame = listener.frame
    t = np.arange(frame * 60) / clock_rate
    voice = (6000 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t))).astype(np.int16)
    for start in range(0, len(voice), frame):
        chunk = voice[start : start + frame]
        listener.sent(chunk)
        listener.hear(chunk // 8)
    for start in range(0, len(voice), frame):
        listener.hear(voice[start : start + frame])
    for _ in range(50):
        listener.hear(np.zeros(frame, dtype=np.int16))

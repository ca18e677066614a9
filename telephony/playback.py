"""Prompt playback into a leg: a WAV player that posts "finished" to the loop at end of file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pjsua2 as pj

from telephony.leg import Post


class PromptPlayer(pj.AudioMediaPlayer):
    """Plays one WAV once; ``on_finished`` runs on the worker's loop, not in pjmedia's thread."""

    def __init__(self, wav: Path, post: Post, on_finished: Callable[[], None]) -> None:
        super().__init__()
        self.wav = wav
        self.post = post
        self.on_finished = on_finished
        self.done = False
        self.createPlayer(str(wav), pj.PJMEDIA_FILE_NO_LOOP)

    def onEof2(self) -> None:
        if not self.done:
            self.done = True
            self.post(self.on_finished)

"""pjmedia frame copy (taps, headset): one memcpy out of pjsua2's byte vectors, exactly right."""

from __future__ import annotations

import random

import pjsua2 as pj

from telephony.media_frames import _vector_bytes_fast, vector_bytes


def test_the_fast_copy_is_chosen_and_exact():
    assert vector_bytes is _vector_bytes_fast
    rng = random.Random(7)
    for size in (0, 1, 160, 320, 640):
        data = bytes(rng.randrange(256) for _ in range(size))
        assert vector_bytes(pj.ByteVector(list(data))) == data


def test_it_reads_a_media_frames_buffer():
    frame = pj.MediaFrame()
    frame.buf = pj.ByteVector(list(range(100)))
    assert vector_bytes(frame.buf) == bytes(range(100))

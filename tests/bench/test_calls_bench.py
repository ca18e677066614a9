"""Smoke tests of bench.calls' argument parsing and pure helpers (no calls, no timings)."""

from __future__ import annotations

import argparse
import os

import numpy as np
import pytest

from bench.call_paths import phone_slots
from bench.call_steps import AGENT_TONE, setup_rate
from bench.calls import parse_args, parse_steps
from bench.frame_loss import FRAME, RATE, check_frames
from bench.resources import cpu_seconds, process_tree, pss_kib, rss_kib, thread_label, threads_cpu


def tone(seconds: float, freq: float = AGENT_TONE) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (8000 * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def test_steps_are_sorted_unique_positive() -> None:
    assert parse_steps("4,1,2,4") == [1, 2, 4]
    with pytest.raises(argparse.ArgumentTypeError):
        parse_steps("0,2")
    assert parse_args(["--steps", "1,3", "--hold", "2"]).steps == [1, 3]


def test_calls_fill_phones_four_at_a_time() -> None:
    assert phone_slots(["a", "b"], 6) == ["a"] * 4 + ["b"] * 2
    with pytest.raises(ValueError):
        phone_slots(["a"], 5)


def test_setup_rate_is_calls_over_first_invite_to_last_bridged() -> None:
    assert setup_rate([10.0, 10.1], [10.5, 11.0]) == pytest.approx(2.0)
    assert setup_rate([1.0], []) == 0.0


def test_a_clean_tone_has_no_lost_frame_and_no_glitch() -> None:
    check = check_frames(tone(3.0), AGENT_TONE)
    assert check.frames > 0 and check.lost == 0 and check.glitches == 0


def test_a_silent_frame_is_lost_and_a_dropped_frame_is_a_glitch() -> None:
    samples = tone(3.0)
    samples[RATE : RATE + FRAME] = 0
    assert check_frames(samples, AGENT_TONE).lost == 1
    dropped = np.concatenate([tone(3.0)[: RATE + 40], tone(3.0)[RATE + 40 + FRAME :]])
    check = check_frames(dropped, AGENT_TONE)
    assert check.lost == 0 and check.glitches >= 1


def test_proc_readers_see_this_process() -> None:
    pid = os.getpid()
    assert cpu_seconds(pid) > 0 and rss_kib(pid) > 0 and pss_kib(pid) > 0
    assert process_tree(pid)[0] == pid
    assert cpu_seconds(-1) == 0.0


def test_threads_are_labelled_main_pjmedia_or_other_python() -> None:
    assert thread_label(10, 10, "python") == "main"
    assert thread_label(10, 11, "python") == "other python"
    assert thread_label(10, 12, "media") == "media"
    assert "main" in threads_cpu([os.getpid()])

"""The telephone audio clock every part of a call runs on: 8 kHz narrowband samples, 20 ms frames.

The switch's conference bridge, the media taps, prompts, the IVR's listening chain and the speech
client all use these; kernels that also work at 16 kHz take the rate as an argument.
"""

from __future__ import annotations

#: Samples per second on the bridge, in prompts and in every tap frame (G.711 narrowband).
CLOCK_RATE = 8000
#: Milliseconds of audio in one frame (pjmedia's ptime, a tap frame, a DSP step).
FRAME_MS = 20
#: Samples in one frame at `CLOCK_RATE`: 160.
SAMPLES_PER_FRAME = CLOCK_RATE * FRAME_MS // 1000

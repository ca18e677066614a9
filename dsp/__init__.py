"""Numerical signal processing in numba: codecs, resampling, VAD, DTMF, echo cancelling,
prosody, and the speech-recognition engine wrapper and client."""

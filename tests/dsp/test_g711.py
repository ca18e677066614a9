import warnings

import numpy as np
import pytest

from dsp import g711

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

ALL_SAMPLES = np.arange(-32768, 32768, dtype=np.int16)
ALL_CODES = np.arange(256, dtype=np.uint8)


@pytest.mark.parametrize(
    ("encode", "oracle"),
    [(g711.ulaw_encode, audioop.lin2ulaw), (g711.alaw_encode, audioop.lin2alaw)],
)
def test_encode_matches_oracle_on_every_16_bit_input(encode, oracle) -> None:
    ours = encode(ALL_SAMPLES)
    reference = np.frombuffer(oracle(ALL_SAMPLES.tobytes(), 2), dtype=np.uint8)
    assert np.array_equal(ours, reference)


@pytest.mark.parametrize(
    ("decode", "oracle"),
    [(g711.ulaw_decode, audioop.ulaw2lin), (g711.alaw_decode, audioop.alaw2lin)],
)
def test_decode_matches_oracle_on_every_code(decode, oracle) -> None:
    reference = np.frombuffer(oracle(ALL_CODES.tobytes(), 2), dtype=np.int16)
    assert np.array_equal(decode(ALL_CODES), reference)
    assert np.array_equal(decode(ALL_CODES.tobytes()), reference)


@pytest.mark.parametrize("name", ["PCMU", "PCMA"])
def test_round_trip_over_all_inputs_is_bit_exact_and_idempotent(name: str) -> None:
    law = g711.CODECS[name]
    oracle_encode = audioop.lin2ulaw if name == "PCMU" else audioop.lin2alaw
    oracle_decode = audioop.ulaw2lin if name == "PCMU" else audioop.alaw2lin
    decoded = law.decode(law.encode(ALL_SAMPLES))
    reference = oracle_decode(oracle_encode(ALL_SAMPLES.tobytes(), 2), 2)
    assert np.array_equal(decoded, np.frombuffer(reference, dtype=np.int16))
    # a decoded value is a code point: encoding it again gives the same code
    reencoded = law.encode(law.decode(ALL_CODES))
    assert np.array_equal(law.decode(reencoded), law.decode(ALL_CODES))


def test_known_code_points() -> None:
    # G.711: µ-law silence is 0xFF, A-law silence is 0xD5; full-scale positive codes
    assert g711.ulaw_encode(np.array([0, 32767, -32768], dtype=np.int16)).tolist() == [
        0xFF,
        0x80,
        0x00,
    ]
    assert g711.alaw_encode(np.array([0, 32767, -32768], dtype=np.int16)).tolist() == [
        0xD5,
        0xAA,
        0x2A,
    ]
    assert g711.ulaw_decode(bytes([0xFF, 0x7F])).tolist() == [0, 0]
    assert g711.CODECS["PCMU"].payload_type == 0
    assert g711.CODECS["PCMA"].payload_type == 8


def test_quantisation_error_is_bounded_by_the_segment_step() -> None:
    for name in ("PCMU", "PCMA"):
        law = g711.CODECS[name]
        x = ALL_SAMPLES[(ALL_SAMPLES > -30000) & (ALL_SAMPLES < 30000)]
        error = np.abs(law.decode(law.encode(x)).astype(np.int32) - x)
        relative = error / np.maximum(np.abs(x.astype(np.int32)), 256)
        assert relative.max() < 0.07  # 4-bit mantissa: at most half a step of ~6 %


def test_encoders_accept_little_endian_bytes_from_a_media_port() -> None:
    pcm = np.array([0, 1000, -1000, 32767], dtype="<i2")
    for law in g711.CODECS.values():
        assert np.array_equal(law.encode(pcm.tobytes()), law.encode(pcm))
        assert np.array_equal(law.encode(pcm.astype(np.int32)), law.encode(pcm))

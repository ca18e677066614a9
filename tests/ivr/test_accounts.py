"""Account numbers from keys and from speech in each shipped locale."""

from __future__ import annotations

import pytest

from ivr.accounts import NUMBER_WORDS, keyed_digits, luhn_valid, spoken_digits


@pytest.mark.parametrize(
    ("locale", "text", "digits"),
    [
        ("en", "one two three", "123"),
        ("en", "double five", "55"),
        ("en", "triple seven oh two", "77702"),
        ("en", "twenty three", "23"),
        ("en", "twenty-three forty five", "2345"),
        ("en", "nineteen eighty four", "1984"),
        ("en", "one hundred twenty three", "123"),
        ("en", "three hundred and five", "305"),
        ("en", "two thousand twenty three", "2023"),
        ("en", "ten eleven twelve", "101112"),
        ("en", "zero zero seven", "007"),
        ("en", "twenty zero", "200"),
        ("en", "my account number is four five, uh, six seven", "4567"),
        ("en", "It's 1234 5", "12345"),
        ("it", "uno due tre", "123"),
        ("it", "ventitré", "23"),
        ("it", "ventitre", "23"),
        ("it", "ventuno ventotto", "2128"),
        ("it", "centoventitré", "123"),
        ("it", "duecento cinque", "205"),
        ("it", "due zero zero cinque", "2005"),
        ("it", "tremila", "3000"),
        ("it", "diciassette", "17"),
        ("it", "doppio nove zero", "990"),
        ("it", "il mio numero è quattro cinque sei sette", "4567"),
        ("ko", "일 이 삼", "123"),
        ("ko", "일이삼사", "1234"),
        ("ko", "공일공", "010"),
        ("ko", "영 구", "09"),
        ("ko", "이십삼", "23"),
        ("ko", "십오", "15"),
        ("ko", "백오", "105"),
        ("ko", "삼백이십", "320"),
        ("ko", "일이삼사입니다", "1234"),
        ("ko", "제 계좌 번호는 칠팔구요", "789"),
        ("ko", "하나 둘 셋", "123"),
        ("ko", "일곱 여덟 아홉", "789"),
        ("ko", "스물셋", "23"),
        ("ko", "열하나", "11"),
    ],
)
def test_spoken_digits(locale: str, text: str, digits: str) -> None:
    assert spoken_digits(text, locale) == digits


@pytest.mark.parametrize(
    ("locale", "text"),
    [
        ("en", "I'm fine, thank you"),
        ("en", ""),
        ("it", "non lo so"),
        ("ko", "안녕하세요"),
        ("ko", "네 잠시만요"),
    ],
)
def test_no_number_said(locale: str, text: str) -> None:
    assert spoken_digits(text, locale) is None


def test_unknown_locale_reads_english() -> None:
    assert spoken_digits("four two", "fr") == "42"


def test_every_shipped_locale_has_number_words() -> None:
    assert set(NUMBER_WORDS) == {"en", "it", "ko"}


def test_keyed_digits_drop_controls() -> None:
    assert keyed_digits("12*3#") == "123"


@pytest.mark.parametrize(
    ("digits", "valid"),
    [("79927398713", True), ("79927398710", False), ("0", False), ("12a4", False)],
)
def test_luhn(digits: str, valid: bool) -> None:
    assert luhn_valid(digits) is valid

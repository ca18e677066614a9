"""Account numbers from keyed digits or recognised speech, per locale, and the lookup contract.

Speech is read word by word into atoms (a digit, a multiplier such as "hundred" or 십, a
repeat such as "double"); atoms then combine into groups the way people say numbers: "one
two three" is 123, "twenty three" is 23, "double five" is 55, "ventitré" is 23, "이십삼" is 23
and "일이삼" is 123. Words that are not numbers are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache

# --- the lookup the worker supplies --------------------------------------------------------------


@dataclass(frozen=True)
class AccountMatch:
    """A known account, as the worker's lookup finds it in the customer table (a caller known
    by caller ID alone may have no account: then ``account_id`` and ``number`` are None)."""

    account_id: int | None
    customer_id: int
    number: str | None
    customer_name: str | None = None
    preferred_agent_id: int | None = None


#: Digits -> the account, or None when unknown; the worker backs it with the store.
AccountLookup = Callable[[str], AccountMatch | None]


def luhn_valid(digits: str) -> bool:
    """True when *digits* end in a correct Luhn check digit (the card-number checksum)."""
    if not digits.isdigit() or len(digits) < 2:
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def keyed_digits(keys: str) -> str:
    """The digits of a DTMF key sequence (``*`` and ``#`` are controls, not part of the number)."""
    return "".join(key for key in keys if key.isdigit())


# --- atoms ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Digit:
    value: int


@dataclass(frozen=True)
class _Multiplier:
    value: int  # 10, 100, 1000


@dataclass(frozen=True)
class _Repeat:
    times: int


_Atom = _Digit | _Multiplier | _Repeat


def _d(value: int) -> tuple[_Atom, ...]:
    return (_Digit(value),)


def _tens(digit: int) -> tuple[_Atom, ...]:
    return (_Digit(digit), _Multiplier(10))


def _teen(unit: int) -> tuple[_Atom, ...]:
    return (_Multiplier(10), _Digit(unit)) if unit else (_Multiplier(10),)


_TEN, _HUNDRED, _THOUSAND = (_Multiplier(10),), (_Multiplier(100),), (_Multiplier(1000),)


@dataclass(frozen=True)
class NumberWords:
    """How one locale says numbers: pieces of words and the atoms they stand for."""

    pieces: Mapping[str, tuple[_Atom, ...]]
    fillers: frozenset[str] = frozenset()
    #: Endings glued to the last number word, e.g. Korean 입니다/이요 (stripped before reading).
    endings: tuple[str, ...] = ()


_EN_UNITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
_EN_TEENS = ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen"]
_EN_TEENS += ["eighteen", "nineteen"]
_EN_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]

_IT_UNITS = ["zero", "uno", "due", "tre", "quattro", "cinque", "sei", "sette", "otto", "nove"]
_IT_TEENS = ["dieci", "undici", "dodici", "tredici", "quattordici", "quindici", "sedici"]
_IT_TEENS += ["diciassette", "diciotto", "diciannove"]
_IT_TENS = ["venti", "trenta", "quaranta", "cinquanta", "sessanta", "settanta", "ottanta"]
_IT_TENS += ["novanta"]

_KO_SINO = "영일이삼사오육칠팔구"
_KO_NATIVE = ["", "하나", "둘", "셋", "넷", "다섯", "여섯", "일곱", "여덟", "아홉"]
_KO_NATIVE_TENS = ["", "열", "스물", "서른", "마흔", "쉰", "예순", "일흔", "여든", "아흔"]


def _english() -> NumberWords:
    pieces: dict[str, tuple[_Atom, ...]] = {w: _d(i) for i, w in enumerate(_EN_UNITS)}
    pieces |= {"oh": _d(0), "o": _d(0), "nought": _d(0), "nil": _d(0)}
    pieces |= {w: _teen(i) for i, w in enumerate(_EN_TEENS)}
    pieces |= {w: _tens(i + 2) for i, w in enumerate(_EN_TENS)}
    pieces |= {"hundred": _HUNDRED, "thousand": _THOUSAND}
    pieces |= {"double": (_Repeat(2),), "triple": (_Repeat(3),), "treble": (_Repeat(3),)}
    fillers = frozenset({"and", "uh", "um", "er", "erm", "hmm", "a"})
    return NumberWords(pieces, fillers)


def _italian() -> NumberWords:
    pieces: dict[str, tuple[_Atom, ...]] = {w: _d(i) for i, w in enumerate(_IT_UNITS)}
    pieces["tré"] = _d(3)
    pieces |= {w: _teen(i) for i, w in enumerate(_IT_TEENS)}
    for index, word in enumerate(_IT_TENS):
        pieces[word] = pieces[word[:-1]] = _tens(index + 2)  # "vent" as in ventuno, ventotto
    pieces |= {"cento": _HUNDRED, "mille": _THOUSAND, "mila": _THOUSAND}
    pieces |= {"doppio": (_Repeat(2),), "doppia": (_Repeat(2),), "triplo": (_Repeat(3),)}
    pieces |= {"tripla": (_Repeat(3),)}
    fillers = frozenset({"e", "ehm", "eh", "mm", "allora"})
    return NumberWords(pieces, fillers)


def _korean() -> NumberWords:
    pieces: dict[str, tuple[_Atom, ...]] = {s: _d(i) for i, s in enumerate(_KO_SINO)}
    pieces |= {"공": _d(0), "십": _TEN, "백": _HUNDRED, "천": _THOUSAND}
    pieces |= {w: _d(i) for i, w in enumerate(_KO_NATIVE) if w}
    pieces |= {w: _tens(i) if i > 1 else _TEN for i, w in enumerate(_KO_NATIVE_TENS) if w}
    fillers = frozenset({"음", "어", "그", "저"})
    endings = ("입니다", "이에요", "예요", "이요", "요", "번", "이고", "고")
    return NumberWords(pieces, fillers, endings)


#: Number words per locale: a new locale is a new entry.
NUMBER_WORDS: dict[str, NumberWords] = {"en": _english(), "it": _italian(), "ko": _korean()}

# --- reading -------------------------------------------------------------------------------------

_WORD = re.compile(r"\d|[^\W\d_]+", re.UNICODE)


def spoken_digits(text: str, locale: str) -> str | None:
    """The digits said in *text* ("double five, twenty three" -> "5523"), or None if none."""
    locale = locale if locale in NUMBER_WORDS else "en"
    words = NUMBER_WORDS[locale]
    groups: list[list[_Atom]] = [[]]
    for token in _WORD.findall(text.lower().replace("-", " ")):
        if token.isdigit():
            groups[-1].append(_Digit(int(token)))
            continue
        if token in words.fillers:
            continue
        atoms = _split(token, locale)
        if atoms is None:
            groups.append([])  # a word that is not a number ends the current run
        else:
            groups[-1].extend(atoms)
    digits = "".join(_combine(group) for group in groups)
    return digits or None


def _split(token: str, locale: str) -> tuple[_Atom, ...] | None:
    reading = _reading(token, locale)
    for ending in NUMBER_WORDS[locale].endings:
        if reading is None and token.endswith(ending) and len(token) > len(ending):
            reading = _reading(token[: -len(ending)], locale)
    return None if reading is None else reading[0]


@lru_cache(maxsize=4096)
def _reading(token: str, locale: str) -> tuple[tuple[_Atom, ...], int] | None:
    """Atoms of *token* read as number pieces end to end, and how many pieces: fewest wins."""
    if not token:
        return (), 0
    best: tuple[tuple[_Atom, ...], int] | None = None
    for end in range(len(token), 0, -1):
        head = NUMBER_WORDS[locale].pieces.get(token[:end])
        rest = _reading(token[end:], locale) if head is not None else None
        if head is not None and rest is not None and (best is None or rest[1] + 1 < best[1]):
            best = head + rest[0], rest[1] + 1
    return best


def _combine(atoms: list[_Atom]) -> str:
    """Digits for one run of atoms, grouping "twenty three" as 23 and "one two" as 12."""
    out: list[str] = []
    index = 0
    while index < len(atoms):
        atom = atoms[index]
        if isinstance(atom, _Repeat):
            following = atoms[index + 1] if index + 1 < len(atoms) else None
            if isinstance(following, _Digit):
                out.append(str(following.value) * atom.times)
                index += 2
            else:
                index += 1
            continue
        value, index = _group(atoms, index)
        out.append(value)
    return "".join(out)


def _group(atoms: list[_Atom], index: int) -> tuple[str, int]:
    """One spoken number starting at *index*: terms with falling multipliers, then units."""
    total, last_multiplier, started = 0, 10**9, index
    while index < len(atoms):
        atom = atoms[index]
        following = atoms[index + 1] if index + 1 < len(atoms) else None
        if isinstance(atom, _Multiplier):
            if atom.value >= last_multiplier:
                break
            total, last_multiplier, index = total + atom.value, atom.value, index + 1
        elif isinstance(atom, _Digit):
            if isinstance(following, _Multiplier) and following.value < last_multiplier:
                total += atom.value * following.value
                last_multiplier, index = following.value, index + 2
                continue
            if index == started:  # a bare digit: "one two three" keeps every digit
                return str(atom.value), index + 1
            if last_multiplier > 1 and atom.value:
                return str(total + atom.value), index + 1
            break
        else:
            break
    return str(total), index

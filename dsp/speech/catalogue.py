"""The Vosk model catalogue (alphacephei's ``model-list.json``): its entries, and which one a
locale gets.

The catalogue lists every official model with its language, size, md5 and download URL; the
word error rates are published on the models page only, so the ones for the models we
recommend are kept here (`PUBLISHED_WER`). The catalogue URL is configurable (tests serve their
own); ``file://`` URLs work too.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass

CATALOGUE_URL = "https://alphacephei.com/vosk/models/model-list.json"

#: Word error rates (percent) from https://alphacephei.com/vosk/models, per test set.
PUBLISHED_WER: dict[str, dict[str, float]] = {
    "vosk-model-small-en-us-0.15": {"librispeech test-clean": 9.85, "tedlium": 10.38},
    "vosk-model-en-us-0.22": {"librispeech test-clean": 5.69, "tedlium": 6.05, "callcenter": 29.78},
    "vosk-model-small-it-0.22": {"cv test": 16.88, "mls": 25.87, "mtedx": 17.01},
    "vosk-model-it-0.22": {"cv test": 8.10, "mls": 15.68, "mtedx": 11.23},
}

#: The catalogue's language for a bare locale when several regions exist (else the first).
PREFERRED_LANG: dict[str, str] = {"en": "en-us", "zh": "cn", "pt": "pt", "es": "es"}

#: Model types in order of preference for telephony: small models decode 8 kHz calls cheaply.
TYPE_PREFERENCE = ("small", "big-lgraph", "big")


class CatalogueError(RuntimeError):
    """The catalogue cannot be read, or has no model for what was asked."""


@dataclass(frozen=True)
class CatalogueEntry:
    """One model of the catalogue."""

    name: str
    lang: str
    lang_text: str
    url: str
    size: int
    md5: str
    type: str
    version: str
    obsolete: bool
    sha256: str = ""
    wer: tuple[tuple[str, float], ...] = ()

    @property
    def locale(self) -> str:
        """The locale a support number would use for it (``en-us`` -> ``en``)."""
        return self.lang.split("-")[0].lower()

    @classmethod
    def parse(cls, item: dict[str, object]) -> CatalogueEntry:
        """One JSON object of ``model-list.json``; missing keys raise `CatalogueError`."""
        try:
            name = str(item["name"])
            wer_given = item.get("wer") or PUBLISHED_WER.get(name, {})
            assert isinstance(wer_given, dict)
            return cls(
                name=name,
                lang=str(item["lang"]).lower(),
                lang_text=str(item.get("lang_text", item["lang"])),
                url=str(item["url"]),
                size=int(str(item.get("size", 0))),
                md5=str(item.get("md5", "")).lower(),
                type=str(item.get("type", "")),
                version=str(item.get("version", "")),
                obsolete=str(item.get("obsolete", "false")).lower() == "true",
                sha256=str(item.get("sha256", "")).lower(),
                wer=tuple((str(k), float(v)) for k, v in wer_given.items()),
            )
        except (KeyError, ValueError, TypeError, AssertionError) as exc:
            raise CatalogueError(f"catalogue entry {item!r:.120} is malformed ({exc})") from None

    def wer_text(self) -> str:
        return ", ".join(f"{value:g}% {test}" for test, value in self.wer) or "-"


def parse_catalogue(text: str | bytes) -> list[CatalogueEntry]:
    """All entries of a ``model-list.json`` document."""
    try:
        items = json.loads(text)
    except ValueError as exc:
        raise CatalogueError(f"the catalogue is not JSON ({exc})") from None
    if not isinstance(items, list):
        raise CatalogueError("the catalogue is not a JSON list of models")
    return [CatalogueEntry.parse(item) for item in items if isinstance(item, dict)]


def fetch_catalogue(url: str = CATALOGUE_URL, timeout: float = 30.0) -> list[CatalogueEntry]:
    """Download and parse the catalogue at *url*."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return parse_catalogue(response.read())
    except OSError as exc:
        raise CatalogueError(f"cannot read the model catalogue {url}: {exc}") from None


def _rank(entry: CatalogueEntry, locale: str) -> tuple[int, int, str]:
    preferred = PREFERRED_LANG.get(locale, locale)
    kind = TYPE_PREFERENCE.index(entry.type) if entry.type in TYPE_PREFERENCE else 9
    return (0 if entry.lang == preferred else 1, kind, entry.lang)


def for_locale(entries: Iterable[CatalogueEntry], locale: str) -> list[CatalogueEntry]:
    """The current (not obsolete) models for *locale* (``en`` or ``en-us``), best first."""
    wanted = locale.lower()
    found = [
        e
        for e in entries
        if not e.obsolete and (e.lang == wanted or e.locale == wanted.split("-")[0])
        and (e.lang == wanted or "-" not in wanted)
    ]
    return sorted(found, key=lambda e: _rank(e, wanted.split("-")[0]))


def choose(entries: Iterable[CatalogueEntry], wanted: str) -> CatalogueEntry:
    """The entry named *wanted*, else the best current model for the locale *wanted*."""
    entries = list(entries)
    for entry in entries:
        if entry.name == wanted:
            return entry
    candidates = for_locale(entries, wanted)
    if not candidates:
        locales = sorted({e.locale for e in entries if not e.obsolete})
        raise CatalogueError(
            f"the catalogue has no model named or for locale {wanted!r}; locales: "
            f"{', '.join(locales)}"
        )
    return candidates[0]

"""What every admin service shares: who acts (`Actor`), refusals tied to a form field
(`Invalid`), a missing object (`NotFound`), a refused change (`Conflict`), and small parsers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Actor:
    """The admin making a change, from which address, through the pages or the API."""

    agent_id: int | None
    username: str
    address: str = ""
    via: str = "page"  # page | api | cli


class AdminError(Exception):
    """Base of the refusals a service raises; nothing was changed."""

    status = 400

    def as_json(self) -> dict[str, Any]:
        return {"error": str(self)}


class Invalid(AdminError):
    """Input that does not validate: *errors* maps each field to what is wrong with it."""

    status = 422

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {text}" for name, text in errors.items()))
        self.errors = errors

    def as_json(self) -> dict[str, Any]:
        return {"error": "invalid input", "fields": self.errors}


class NotFound(AdminError):
    status = 404


class Conflict(AdminError):
    """A change refused because of what else uses the object (say who in the message)."""

    status = 409


@dataclass
class Form:
    """Reads typed values out of a form or JSON body and collects per-field errors."""

    data: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)

    def text(self, name: str, *, required: bool = False, max_length: int = 200,
             pattern: re.Pattern[str] | None = None, hint: str = "") -> str | None:
        raw = self.data.get(name)
        value = "" if raw is None else str(raw).strip()
        if not value:
            if required:
                self.errors[name] = "required"
            return None
        if len(value) > max_length:
            self.errors[name] = f"at most {max_length} characters"
            return None
        if pattern is not None and not pattern.fullmatch(value):
            self.errors[name] = hint or "not in the expected form"
            return None
        return value

    def integer(self, name: str, *, default: int, low: int, high: int) -> int:
        raw = self.data.get(name)
        if raw is None or str(raw).strip() == "":
            return default
        try:
            value = int(str(raw).strip())
        except ValueError:
            self.errors[name] = "a whole number"
            return default
        if not low <= value <= high:
            self.errors[name] = f"between {low} and {high}"
            return default
        return value

    def flag(self, name: str, default: bool = False) -> bool:
        raw = self.data.get(name)
        if raw is None:
            return default
        if isinstance(raw, bool):
            return raw
        return str(raw).strip().lower() in ("1", "true", "on", "yes")

    def words(self, name: str, *, pattern: re.Pattern[str], hint: str) -> list[str]:
        """A list from JSON, or comma-separated text from a form."""
        raw = self.data.get(name)
        items = raw if isinstance(raw, list) else str(raw or "").split(",")
        words = [str(item).strip() for item in items if str(item).strip()]
        bad = [word for word in words if not pattern.fullmatch(word)]
        if bad:
            self.errors[name] = f"{bad[0]!r}: {hint}"
        return sorted(set(words))

    def check(self) -> None:
        if self.errors:
            raise Invalid(self.errors)


NAME_WORD = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
EXTENSION = re.compile(r"[0-9]{2,15}")

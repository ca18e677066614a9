"""The kinds of step a flat flow is made of: question, acknowledge, identify, announcement,
menu (one level), route and hang-up, each a frozen dataclass naming the fields it accepts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

MOODS = ("calm", "neutral", "upset")


@dataclass(frozen=True, kw_only=True)
class Step:
    """One step of a flow; ``next`` is the step that follows (None for route and hang-up)."""

    kind: ClassVar[str]
    fields: ClassVar[frozenset[str]] = frozenset()
    terminal: ClassVar[bool] = False
    id: str
    next: str | None = None

    def prompt_ids(self) -> tuple[str, ...]:
        return ()

    def successors(self) -> tuple[str, ...]:
        return () if self.next is None else (self.next,)


@dataclass(frozen=True, kw_only=True)
class QuestionStep(Step):
    """Play a question and keep the caller's free answer (and its mood)."""

    kind = "question"
    fields = frozenset({"prompt", "retry_prompt", "timeout", "retries", "max_utterance"})
    prompt: str
    retry_prompt: str | None = None
    timeout: float = 6.0
    retries: int = 0
    max_utterance: float = 15.0

    def prompt_ids(self) -> tuple[str, ...]:
        return tuple(p for p in (self.prompt, self.retry_prompt) if p)


@dataclass(frozen=True, kw_only=True)
class AcknowledgeStep(Step):
    """Say something short that fits the mood of the last answer."""

    kind = "acknowledge"
    fields = frozenset({"prompts"})
    prompts: Mapping[str, str]

    def prompt_ids(self) -> tuple[str, ...]:
        return tuple(self.prompts[mood] for mood in MOODS if mood in self.prompts)


@dataclass(frozen=True, kw_only=True)
class IdentifyStep(Step):
    """Ask for the account number (keys or speech) and look it up; unknown after retries: go on."""

    kind = "identify"
    fields = frozenset(
        {"prompt", "retry_prompt", "timeout", "retries", "min_digits", "max_digits", "checksum"}
    )
    prompt: str
    retry_prompt: str | None = None
    timeout: float = 8.0
    retries: int = 1
    min_digits: int = 4
    max_digits: int = 16
    checksum: str = "none"

    def prompt_ids(self) -> tuple[str, ...]:
        return tuple(p for p in (self.prompt, self.retry_prompt) if p)


@dataclass(frozen=True, kw_only=True)
class AnnouncementStep(Step):
    """Play a notice (an outage, opening hours); skipped when not enabled."""

    kind = "announcement"
    fields = frozenset({"prompt", "enabled"})
    prompt: str
    enabled: bool = True

    def prompt_ids(self) -> tuple[str, ...]:
        return (self.prompt,)


@dataclass(frozen=True)
class MenuOption:
    """A key (and optionally words per locale) that leads to a step."""

    key: str
    next: str
    words: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class MenuStep(Step):
    """One level of choice: a key or a word picks the next step; no match: a person."""

    kind = "menu"
    fields = frozenset({"prompt", "retry_prompt", "timeout", "retries", "options"})
    prompt: str
    options: tuple[MenuOption, ...]
    retry_prompt: str | None = None
    timeout: float = 6.0
    retries: int = 1

    def prompt_ids(self) -> tuple[str, ...]:
        return tuple(p for p in (self.prompt, self.retry_prompt) if p)

    def successors(self) -> tuple[str, ...]:
        return tuple(option.next for option in self.options)


@dataclass(frozen=True, kw_only=True)
class RouteStep(Step):
    """Hand the call to a person in a queue, with the call data gathered so far."""

    kind = "route"
    fields = frozenset({"prompt", "queue", "skills"})
    terminal = True
    prompt: str | None = None
    queue: str | None = None
    skills: tuple[str, ...] = ()

    def prompt_ids(self) -> tuple[str, ...]:
        return (self.prompt,) if self.prompt else ()


@dataclass(frozen=True, kw_only=True)
class HangupStep(Step):
    """Say goodbye (optionally) and end the call."""

    kind = "hangup"
    fields = frozenset({"prompt"})
    terminal = True
    prompt: str | None = None

    def prompt_ids(self) -> tuple[str, ...]:
        return (self.prompt,) if self.prompt else ()


STEP_KINDS: dict[str, type[Step]] = {
    kind.kind: kind
    for kind in (
        QuestionStep,
        AcknowledgeStep,
        IdentifyStep,
        AnnouncementStep,
        MenuStep,
        RouteStep,
        HangupStep,
    )
}


#: The steps that ask and then listen for an answer (each has a prompt, a retry prompt, retries).
AskingStep = QuestionStep | IdentifyStep | MenuStep


def asking(step: Step) -> AskingStep:
    """*step* as one that asks and listens: only those are ever re-prompted or wait for input."""
    if not isinstance(step, QuestionStep | IdentifyStep | MenuStep):
        raise TypeError(f"step '{step.id}' ({step.kind}) does not ask for an answer")
    return step

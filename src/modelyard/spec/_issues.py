"""What a spec problem looks like: :class:`SpecIssue` for users, :class:`Problem` inside validators."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Loc", "Problem", "Problems", "SpecIssue", "closest", "format_key"]

#: A path into the spec data, such as ``("inputs", 2, "type")``.
Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class SpecIssue:
    """One problem in a use-case file, located to the line and key, with the fix.

    ``str(issue)`` is one line: ``file:line: key: message; fix``.
    """

    file: str
    line: int | None
    key: str
    value: Any
    message: str
    fix: str | None = None

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        text = f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"
        return f"{text}; {self.fix}" if self.fix else text


@dataclass(frozen=True)
class Problem:
    """A problem found by a validator, relative to the object being validated."""

    loc: Loc
    message: str
    fix: str | None = None
    value: Any = None

    def __str__(self) -> str:
        key = format_key(self.loc)
        text = f"{key}: {self.message}" if key else self.message
        return f"{text}; {self.fix}" if self.fix else text


class Problems(ValueError):
    """Raised by validators with every problem found; the loader turns each into a located issue."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = list(problems)


def format_key(loc: Iterable[str | int]) -> str:
    """``("inputs", 2, "type")`` → ``"inputs[2].type"``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate most like ``word``, if any is close enough to be a likely typo."""
    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None

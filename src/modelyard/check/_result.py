"""The handoff check's verdict: one row per check, the measurements, JSON and a Rich table."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import pandas as pd
from rich.markup import escape
from rich.table import Table
from rich.text import Text

__all__ = ["SCHEMA_VERSION", "Check", "CheckResult", "Status"]

SCHEMA_VERSION = "1"


class Status(StrEnum):
    """How one check came out. Only FAIL makes the whole check fail; SKIP means it could not run."""

    PASS = "PASS"
    WARN = "WARN"
    FAIL = "FAIL"
    SKIP = "SKIP"


_STYLE = {Status.PASS: "green", Status.WARN: "yellow", Status.FAIL: "bold red", Status.SKIP: "dim"}


@dataclass(frozen=True)
class Check:
    """One row of the verdict: what was checked, how it came out, what was measured, the fix."""

    name: str
    status: Status
    message: str
    measured: str = ""
    budget: str = ""
    fix: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status.value,
            "message": self.message,
            "measured": self.measured,
            "budget": self.budget,
            "fix": self.fix,
            "details": _jsonable(self.details),
        }


@dataclass
class CheckResult:
    """The outcome of a handoff check.

    ``complete`` is False when a fatal problem (the model does not load, no row of the data fits
    the spec, the model raises) stopped the check early; such a result is never stored.
    """

    use_case: str
    model: str
    version: int | None
    data_ref: str | None
    rows: int
    checks: list[Check] = field(default_factory=list)
    measurements: dict[str, float] = field(default_factory=dict)
    timings_s: dict[str, float] = field(default_factory=dict)
    complete: bool = True
    stored_id: str | None = None

    @property
    def passed(self) -> bool:
        """True when no check failed and the check ran to the end."""
        return self.complete and not any(c.status == Status.FAIL for c in self.checks)

    @property
    def exit_code(self) -> int:
        """0 when every check passed or warned, 1 when any failed."""
        return 0 if self.passed else 1

    def check(self, name: str) -> Check:
        """The row called ``name``; KeyError listing the names otherwise."""
        for row in self.checks:
            if row.name == name:
                return row
        raise KeyError(f"no check named {name!r}; checks: {', '.join(c.name for c in self.checks)}")

    def failures(self) -> list[Check]:
        """The rows that failed."""
        return [c for c in self.checks if c.status == Status.FAIL]

    def __repr__(self) -> str:
        failed = self.failures()
        verdict = "PASSED" if self.passed else "FAILED" if self.complete else "STOPPED"
        why = f", failed: {', '.join(c.name for c in failed)}" if failed else ""
        return f"<CheckResult {self.model} of {self.use_case}: {verdict}, {len(self.checks)} checks{why}>"

    def to_frame(self) -> pd.DataFrame:
        """The checks as a DataFrame (one row per check), for a notebook."""
        columns = ["check", "status", "found", "measured", "budget", "fix"]
        rows = [(c.name, c.status.value, c.message, c.measured, c.budget, c.fix) for c in self.checks]
        return pd.DataFrame(rows, columns=columns)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data; this is what is stored against the version."""
        return {
            "schema_version": SCHEMA_VERSION,
            "use_case": self.use_case,
            "model": self.model,
            "version": self.version,
            "data": self.data_ref,
            "rows": self.rows,
            "passed": self.passed,
            "complete": self.complete,
            "exit_code": self.exit_code,
            "checks": [c.to_dict() for c in self.checks],
            "measurements": _jsonable(self.measurements),
            "timings_s": {k: round(v, 3) for k, v in self.timings_s.items()},
            "stored_id": self.stored_id,
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        """The result as a JSON document."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def table(self) -> Table:
        """The checks as a Rich table: status, measured value, budget and fix."""
        verdict = "[green]PASSED[/]" if self.passed else "[bold red]FAILED[/]"
        rows = f" on {self.rows:,} rows" if self.rows else ""  # 0 when stopped before the data was read
        title = f"Handoff check of {escape(self.model)} for {escape(self.use_case)}{rows}: {verdict}"
        table = Table(title=title, title_justify="left", show_lines=True)
        table.add_column("check", no_wrap=True)
        table.add_column("status", no_wrap=True)
        table.add_column("what was found")
        table.add_column("measured", justify="right")
        table.add_column("budget", justify="right")
        table.add_column("fix")
        for row in self.checks:
            status = f"[{_STYLE[row.status]}]{row.status.value}[/]"
            # what was found quotes the model's own errors and values: printed as written, never as markup
            table.add_row(row.name, status, *(Text(v) for v in (row.message, row.measured, row.budget, row.fix)))
        return table

    def __rich__(self) -> Table:
        return self.table()


def _jsonable(value: Any) -> Any:
    """JSON-safe copy: numpy scalars become Python numbers, NaN/inf become None."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        try:
            value = value.item()
        except (ValueError, TypeError):
            return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)

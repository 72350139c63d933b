"""Expected cost: per-row amounts from the use case's cost model, and the cost at every threshold.

The decision rule is "act when score >= threshold". With the rows sorted by score, highest first,
acting on the first ``m`` rows costs ``sum(no-act amounts) + cumsum(act - no-act)[m - 1]``: one sort
and one cumulative sum give the cost at every distinct threshold (O(n log n)).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from modelyard.evaluate._errors import EvaluationError
from modelyard.spec import ExpressionError, UseCase
from modelyard.spec._names import Outcome

__all__ = ["CostCurve", "RowCosts", "cost_at", "cost_curve", "row_costs"]

_OUTCOMES: tuple[Outcome, ...] = ("true_positive", "false_positive", "true_negative", "false_negative")


@dataclass(frozen=True)
class RowCosts:
    """What acting and not acting cost on each row, given its label.

    ``act[i]`` is the true- or false-positive amount of row i, ``rest[i]`` the false- or true-negative one.
    """

    act: np.ndarray
    rest: np.ndarray

    @classmethod
    def from_amounts(cls, y: np.ndarray, amounts: dict[str, np.ndarray]) -> RowCosts:
        y = np.asarray(y, dtype=bool)
        act = np.where(y, amounts["true_positive"], amounts["false_positive"]).astype(np.float64)
        rest = np.where(y, amounts["false_negative"], amounts["true_negative"]).astype(np.float64)
        return cls(act=act, rest=rest)

    def of(self, acted: np.ndarray) -> np.ndarray:
        """Each row's cost under the decisions ``acted``."""
        return np.where(acted, self.act, self.rest)

    def subset(self, mask: np.ndarray) -> RowCosts:
        return RowCosts(act=self.act[mask], rest=self.rest[mask])


def _example(frame: pd.DataFrame, bad: np.ndarray, values: np.ndarray) -> str:
    i = int(np.flatnonzero(bad)[0])
    row = frame.index[i]
    row = row.item() if isinstance(row, np.generic) else row
    value = values[i].item() if isinstance(values[i], np.generic) else values[i]
    return f"row {row!r}: {value!r}"


def row_costs(
    use_case: UseCase, frame: pd.DataFrame, y: np.ndarray, *, allow_negative: bool = False
) -> tuple[RowCosts, dict[str, np.ndarray]]:
    """Per-row amounts of the four outcomes (segment overrides applied), and each segment's row mask.

    A row in several segments takes the overrides of the last of them in spec order.
    Raise :class:`EvaluationError` when an amount cannot be computed, is missing or is negative
    (unless ``allow_negative``), or a segment's filter fails or matches no row.
    """
    n = len(frame)
    amounts: dict[str, np.ndarray] = {o: _amount(use_case.costs.expression(o).text, o, None, frame) for o in _OUTCOMES}
    masks: dict[str, np.ndarray] = {}
    for segment in use_case.segments:
        mask = _filter(segment.name, segment.filter_expression.text, frame)
        masks[segment.name] = mask
        if segment.costs is None:
            continue
        for outcome, text in segment.costs.model_dump(exclude_none=True).items():
            expr = text if isinstance(text, str) else repr(float(text))
            values = _amount(expr, outcome, segment.name, frame)
            amounts[outcome] = np.where(mask, values, amounts[outcome])
    for outcome, values in amounts.items():
        if not allow_negative and (values < 0).any():
            bad = values < 0
            raise EvaluationError(
                f"cost {outcome} gives negative amounts in {int(bad.sum())} of {n} rows "
                f"(e.g. {_example(frame, bad, values)}); costs must be >= 0; fix the expression, "
                "or pass allow_negative_costs=True to count gains as negative costs"
            )
    return RowCosts.from_amounts(y, amounts), masks


def _amount(text: str, outcome: str, segment: str | None, frame: pd.DataFrame) -> np.ndarray:
    where = f"cost {outcome} = {text!r}" + (f" of segment {segment!r}" if segment else "")
    try:
        values = np.asarray(_parse(text).evaluate(frame))
        values = values.astype(np.float64)
    except (ExpressionError, TypeError, ValueError) as exc:
        raise EvaluationError(f"{where} cannot be evaluated: {exc}") from None
    bad = ~np.isfinite(values)
    if bad.any():
        raise EvaluationError(
            f"{where} is missing or infinite in {int(bad.sum())} of {len(frame)} rows "
            f"(e.g. {_example(frame, bad, values)}); fill the column(s) it uses, or change the expression"
        )
    return values


def _filter(name: str, text: str, frame: pd.DataFrame) -> np.ndarray:
    try:
        mask = np.asarray(_parse(text).evaluate(frame))
    except ExpressionError as exc:
        raise EvaluationError(f"segment {name!r}: {exc}") from None
    if mask.dtype != bool:
        nulls = pd.isna(mask)
        if nulls.any():
            raise EvaluationError(
                f"segment {name!r}: filter {text!r} is undefined in {int(nulls.sum())} of {len(frame)} rows "
                f"(e.g. row {int(np.flatnonzero(nulls)[0])}); fill the column(s) it uses"
            )
        mask = mask.astype(bool)
    if not mask.any():
        raise EvaluationError(
            f"segment {name!r}: filter {text!r} matches none of the {len(frame)} rows of the evaluation data; "
            "evaluate on data that covers the segment, or fix the filter"
        )
    return mask


def _parse(text: str) -> Any:
    from modelyard.spec import parse_expression

    return parse_expression(text)


@dataclass(frozen=True)
class CostCurve:
    """Total cost of "act when score >= threshold" at every distinct score, highest threshold first.

    ``thresholds[0]`` is ``inf`` (act on no one); the last threshold is the lowest score (act on everyone).
    """

    thresholds: np.ndarray
    costs: np.ndarray
    acted: np.ndarray
    n: int

    @property
    def best_index(self) -> int:
        return int(np.argmin(self.costs))

    @property
    def best_threshold(self) -> float:
        """The cost-minimising threshold (the highest one among ties: act on fewest rows)."""
        return float(self.thresholds[self.best_index])

    @property
    def best_cost(self) -> float:
        return float(self.costs[self.best_index])

    def points(self, max_points: int = 300) -> dict[str, list[float]]:
        """Thresholds in [0, 1] and their cost per 1,000 decisions, thinned for plots and JSON."""
        finite = np.isfinite(self.thresholds)
        t, c = self.thresholds[finite], self.costs[finite]
        if len(t) > max_points:
            grid = np.linspace(0.0, 1.0, max_points)
            # the cost at threshold g is the cost at the smallest distinct score >= g
            pos = np.searchsorted(-t, -grid, side="right") - 1
            pos = np.clip(pos, 0, len(t) - 1)
            keep = np.unique(np.r_[pos, self.best_index - 1 if self.best_index > 0 else 0])
            t, c = t[keep], c[keep]
        per_1000 = c / max(self.n, 1) * 1000
        return {"threshold": t.round(6).tolist(), "cost_per_1000": per_1000.round(4).tolist()}


def cost_curve(scores: np.ndarray, costs: RowCosts) -> CostCurve:
    """The cost at every distinct threshold, after one sort of the scores."""
    s = np.asarray(scores, dtype=np.float64)
    order = np.argsort(-s, kind="stable")
    s_desc = s[order]
    delta = costs.act[order] - costs.rest[order]
    cum = np.cumsum(delta)
    # the last row of each run of tied scores: acting at that score acts on the whole run
    ends = np.flatnonzero(np.r_[s_desc[1:] != s_desc[:-1], True]) if len(s) else np.empty(0, np.intp)
    base = float(costs.rest.sum())
    thresholds = np.r_[np.inf, s_desc[ends]]
    total = np.r_[base, base + cum[ends]]
    acted = np.r_[0, ends + 1]
    return CostCurve(thresholds=thresholds, costs=total, acted=acted, n=len(s))


def cost_at(scores: np.ndarray, costs: RowCosts, threshold: float) -> float:
    """The total cost of acting on the rows whose score is at least ``threshold``."""
    return float(costs.of(np.asarray(scores) >= threshold).sum())

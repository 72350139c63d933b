"""The bootstrap, vectorised in chunks of replicates so memory stays bounded.

Resampling: Efron's bootstrap, n rows drawn with replacement (multinomial counts), by drawing
row indices with a seeded :class:`numpy.random.Generator`. Every replicate keeps the evaluation's
size, so a total cost and a cost per 1,000 decisions mean the same in each; drawing indices in
chunks of replicates is the cheapest exact way to get those counts with numpy (Poisson weights
would change the sample size and cost 5x more to draw). It is *paired*: one
set of drawn rows serves the challenger and the champion, so their difference keeps the correlation
between them and its interval is much narrower than two independent intervals.

Memory: one chunk holds at most ``max_elements`` drawn indices (32 MB by default), never a
replicates x rows matrix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

__all__ = [
    "DEFAULT_MAX_ELEMENTS",
    "RESAMPLING",
    "Interval",
    "bootstrap_counts",
    "bootstrap_sums",
    "interval",
    "resample_indices",
]

DEFAULT_MAX_ELEMENTS = 4_000_000

RESAMPLING = (
    "Paired nonparametric bootstrap (Efron): each replicate draws n rows with replacement, the same "
    "rows for both models, so the difference keeps their correlation; percentile intervals. Replicates "
    "run in chunks of drawn row indices, so memory stays bounded whatever the number of replicates."
)


@dataclass(frozen=True)
class Interval:
    """A point estimate with a percentile bootstrap interval."""

    value: float
    low: float
    high: float
    level: float = 0.95

    def to_dict(self) -> dict[str, float]:
        return {"value": self.value, "low": self.low, "high": self.high, "level": self.level}

    def text(self, fmt: str = "{:.3f}") -> str:
        return f"{fmt.format(self.value)} [{fmt.format(self.low)}, {fmt.format(self.high)}]"


def interval(value: float, replicates: np.ndarray, level: float = 0.95) -> Interval:
    """``value`` with the percentile interval of ``replicates`` (NaN replicates ignored)."""
    finite = np.asarray(replicates, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if not len(finite):
        return Interval(float(value), float("nan"), float("nan"), level)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    return Interval(float(value), float(low), float(high), level)


def resample_indices(
    n: int, replicates: int, seed: int, *, max_elements: int = DEFAULT_MAX_ELEMENTS
) -> Iterator[np.ndarray]:
    """Chunks of drawn row indices, each of shape ``(k, n)``; the same seed gives the same rows."""
    rng = np.random.default_rng(seed)
    k = max(1, min(replicates, max_elements // max(n, 1)))
    done = 0
    while done < replicates:
        m = min(k, replicates - done)
        yield rng.integers(0, n, size=(m, n), dtype=np.intp)
        done += m


def bootstrap_sums(
    values: np.ndarray, replicates: int, seed: int, *, max_elements: int = DEFAULT_MAX_ELEMENTS
) -> np.ndarray:
    """Column sums of ``values`` (shape ``(n, c)``) over resampled rows: an array ``(replicates, c)``.

    Paired: every column is summed over the same drawn rows.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    n, c = values.shape
    columns = np.ascontiguousarray(values.T)
    out = np.empty((replicates, c))
    start = 0
    for idx in resample_indices(n, replicates, seed, max_elements=max_elements):
        m = idx.shape[0]
        for j in range(c):
            out[start : start + m, j] = np.take(columns[j], idx).sum(axis=1)
        start += m
    return out


def bootstrap_counts(
    n: int,
    replicates: int,
    seed: int,
    statistic: Callable[[np.ndarray], dict[str, np.ndarray]],
    *,
    max_elements: int = DEFAULT_MAX_ELEMENTS,
) -> dict[str, np.ndarray]:
    """Apply ``statistic`` to chunks of resampling counts (shape ``(k, n)``); concatenate its outputs.

    The same ``seed`` and ``max_elements`` draw the same rows as :func:`bootstrap_sums`.
    """
    parts: dict[str, list[np.ndarray]] = {}
    for idx in resample_indices(n, replicates, seed, max_elements=max_elements):
        m = idx.shape[0]
        flat = idx + (np.arange(m, dtype=np.intp) * n)[:, None]
        counts = np.bincount(flat.ravel(), minlength=m * n).reshape(m, n).astype(np.float64)
        for key, value in statistic(counts).items():
            parts.setdefault(key, []).append(np.asarray(value))
    return {key: np.concatenate(chunks) for key, chunks in parts.items()}

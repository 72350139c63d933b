"""The errors an evaluation raises; both are usage errors (exit code 2, HTTP 400)."""

from __future__ import annotations

from modelyard._exceptions import UsageError

__all__ = ["EvaluationError", "NoPassingEvaluationError"]


class EvaluationError(UsageError):
    """The evaluation data, the scores or the cost model cannot be evaluated; nothing was stored.

    The message names the column (or expression), the number of bad rows and one example.
    """


class NoPassingEvaluationError(UsageError):
    """A version is to be promoted without a stored PROMOTE evaluation against the current champion."""

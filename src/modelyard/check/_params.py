"""``run_check``'s parameters, checked in one place before any work.

A wrong type is the caller's mistake, not the model's: it raises :class:`UsageError` naming the
parameter, the value and what to pass ("The 'model' parameter must be ... Got None instead."),
instead of turning into a FAIL row of the verdict.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from modelyard._exceptions import UsageError

__all__ = ["Parameters", "check_data", "check_parameters", "soak_seconds_value"]


@dataclass(frozen=True)
class Parameters:
    """The arguments as the check uses them: a numpy integer ``model`` becomes an int, the soak a float."""

    model: Any
    soak_seconds: float
    trust: bool
    progress: Callable[[str], None] | None = None


def check_parameters(
    yard: Any, use_case: Any, model: Any, *, data: Any, soak_seconds: Any, trust: Any, progress: Any = None
) -> Parameters:
    """Raise :class:`UsageError` for a parameter of the wrong type; return the normalised ones."""
    from modelyard._yard import Yard
    from modelyard.spec import UseCase

    if not isinstance(yard, Yard):
        raise UsageError(f"The 'yard' parameter must be a Yard (modelyard.open_yard()). Got {_shown(yard)} instead.")
    if not isinstance(use_case, UseCase) and not (isinstance(use_case, str) and use_case.strip()):
        raise UsageError(
            f"The 'use_case' parameter must be a use-case name (str) or a UseCase. Got {_shown(use_case)} instead."
        )
    check_data(data)
    if progress is not None and not callable(progress):
        raise UsageError(
            f"The 'progress' parameter must be a function taking a stage name, or None. Got {_shown(progress)} instead."
        )
    return Parameters(_model(model), soak_seconds_value(soak_seconds), _trust(trust), progress)


def _model(model: Any) -> Any:
    if isinstance(model, numbers.Integral) and not isinstance(model, bool | np.bool_):
        return int(model)  # 3 and numpy.int64(3) name the same version
    empty_text = isinstance(model, str) and not model.strip()
    if model is None or empty_text or isinstance(model, bool | np.bool_ | numbers.Number):
        raise UsageError(
            "The 'model' parameter must be a registered version (3, 'v3', 'latest' or a stage name), a model "
            f"file, a 'module:function' import path or a fitted model object. Got {_shown(model)} instead."
        )
    return model


def check_data(data: Any) -> None:
    """Raise :class:`UsageError` unless ``data`` is a DataFrame, a path, a snapshot id or None."""
    if data is None or isinstance(data, pd.DataFrame | Path) or (isinstance(data, str) and data.strip()):
        return
    raise UsageError(
        "The 'data' parameter must be a DataFrame of raw production rows, a Parquet/CSV path or a snapshot id "
        f"(or None for <root>/data/recent.parquet). Got {_shown(data)} instead."
    )


def soak_seconds_value(value: Any) -> float:
    """The soak's length in seconds: 30 by default, 0 to skip it."""
    from modelyard.check._soak import DEFAULT_SOAK_SECONDS

    if value is None:
        return DEFAULT_SOAK_SECONDS
    if (
        isinstance(value, bool | np.bool_)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value < 0
    ):
        raise UsageError(
            "The 'soak_seconds' parameter must be a number of seconds >= 0 (0 skips the soak, None soaks for "
            f"{DEFAULT_SOAK_SECONDS:g} s). Got {_shown(value)} instead."
        )
    return float(value)


def _trust(value: Any) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise UsageError(
            "The 'trust' parameter must be True or False (True allows pickle files, which run code when loaded). "
            f"Got {_shown(value)} instead."
        )
    return bool(value)


def _shown(value: Any) -> str:
    """The value as the message shows it: the repr of plain values, the type of anything else."""
    if value is None or isinstance(value, bool | numbers.Number | str | Path):
        text = repr(value)
        return text if len(text) <= 80 else f"{text[:77]}..."
    return f"a {type(value).__module__}.{type(value).__qualname__} object"

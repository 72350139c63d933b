"""The JSON form of an evaluation, schema version 1. Stored in the registry and printed by ``--json``.

An *interval* is ``{"value", "low", "high", "level"}``: a point estimate and its percentile bootstrap
interval (``level`` 0.95 by default). Money is in the cost model's unit. NaN becomes ``null``.

Top level:

- ``schema_version`` ("1"), ``id`` ("ev_…"), ``use_case``, ``created_at`` (ISO 8601, UTC)
- ``verdict``: "PROMOTE", "HOLD" or "BLOCK"; ``reasons``: one line per gate or guard (and per
  check the evaluation adds: "training rows")
- ``data``: ``ref`` (file path or frame hash), ``rows``, ``positives``, ``time_column``
- ``method``: ``resampling`` (which bootstrap, and why), ``replicates``, ``level``, ``seed``,
  ``threshold_selection`` (how the threshold is chosen without optimism), ``decision_rule``
- ``models``: ``challenger`` and ``champion``, each with ``label``, ``version``, ``flavor``,
  ``artifact_mb``, ``measurements`` (from the handoff check, or null), ``chosen_threshold`` (null:
  act on no one), ``fold_thresholds``, ``in_sample_min_cost`` and ``cost_at_threshold_in_use``
  (``{"total", "per_1000"}``), ``threshold_in_use``, ``metrics`` (name → interval: roc_auc, pr_auc,
  log_loss, brier, ece, accuracy, precision, recall, true_positive_rate, false_positive_rate, f1,
  expected_cost, cost_per_1000; decision metrics and costs use the cross-fitted decisions),
  ``confusion`` (tp, fp, tn, fn), ``calibration`` (bins: bin_low, bin_high, mean_score,
  positive_rate, rows), ``curves`` (``cost``: threshold, cost_per_1000; ``roc``: fpr, tpr; ``pr``:
  recall, precision). With no champion, ``champion`` is the cheaper trivial policy (``policy``).
- ``trivial``: ``act_on_everyone`` and ``act_on_no_one``, each ``{"total", "per_1000"}``
- ``comparison``: ``baseline`` (what the challenger is compared with), ``saving`` and
  ``saving_per_1000`` (champion cost minus challenger cost: intervals, positive means the challenger
  is cheaper), ``probability_cheaper``, ``probability_better`` (metric → probability),
  ``difference`` (metric → interval of challenger minus champion)
- ``segments``: list of ``name``, ``filter``, ``rows``, ``positives``, ``models`` (role → metric →
  interval), ``difference`` (metric → interval)
- ``gates``: list of ``gate``, ``kind`` (metric, beats_champion, budget, guard, data), ``status`` (pass,
  fail, uncertain), ``reason``, ``value`` (interval or null), ``bound``
- ``stability``: ``column``, ``period`` ("month"), ``slices`` (``period``, ``rows``, ``positives``,
  ``<role>_cost_per_1000``, ``<role>_roc_auc``, ``saving_per_1000``), ``challenger_cheaper_in``,
  ``challenger_dearer_in``
- ``reference``: a logistic regression cross-fitted on the evaluation rows (null when not fitted):
  ``label``, ``roc_auc``, ``cost_per_1000`` (interval)
- ``worth_it``: ``simpler_within_interval`` (bool: the smaller champion or the reference costs no
  more than the top of the challenger's interval), ``note`` (one line), ``options`` (list of role,
  label, version, cost_per_1000 interval, artifact_mb, latency_p99_ms)
- ``training_rows``: per version, how the evaluation rows were compared with the rows it was fitted
  on: ``role``, ``version``, ``status`` ("compared" or "not made"), ``note`` (one line), and when
  compared ``found``, ``compared``, ``chance``, ``fingerprinted``, ``training_rows``, ``later``
- ``training_rows_allowed``: null, or when the data was evaluated although it holds rows a version
  learnt from (``allow_training_rows``): ``why`` (the user's words, whitespace collapsed) and
  ``found`` (a list of ``roles``, ``versions``, ``kind`` ("found", or "unchecked" when the
  fingerprints could not be read) and ``what``, one per finding that would have refused it); the
  gate "training rows" then says what that does to the verdict
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["SCHEMA", "SCHEMA_VERSION", "jsonable"]

SCHEMA_VERSION = "1"
SCHEMA = __doc__ or ""


def jsonable(value: Any) -> Any:
    """``value`` with numpy types made plain and NaN/infinity made None, so any JSON store takes it."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        f = float(value)
        return f if math.isfinite(f) else None
    return value

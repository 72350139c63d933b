"""Business evaluation: does a challenger lower what mistakes cost, how sure are we, and may it ship?

>>> from modelyard.evaluate import evaluate                            # doctest: +SKIP
>>> ev = evaluate(yard, "churn", 2, against="production")              # doctest: +SKIP
>>> ev.verdict, ev.reasons                                             # doctest: +SKIP

``evaluate`` scores both versions on labelled rows, prices every decision with the use case's cost
model, chooses the threshold without optimism (cross-fitting), puts paired bootstrap intervals on
every number, checks the spec's gates and guards, and stores the result with an HTML report.
It refuses data that cannot measure the models: fewer than :data:`MIN_ROWS_PER_CLASS` positives
or negatives, or rows either model was trained on (see :func:`evaluate`).
The JSON form is documented in :data:`SCHEMA`.
"""

from modelyard.evaluate._bootstrap import RESAMPLING, Interval, bootstrap_sums, interval, resample_indices
from modelyard.evaluate._compare import THRESHOLD_SELECTION, cross_fit_decisions, paired_cost_bootstrap
from modelyard.evaluate._costs import CostCurve, RowCosts, cost_at, cost_curve, row_costs
from modelyard.evaluate._data import MIN_ROWS_PER_CLASS
from modelyard.evaluate._demo import demo_stage
from modelyard.evaluate._errors import EvaluationError, NoPassingEvaluationError
from modelyard.evaluate._evaluation import (
    Evaluation,
    cost_model_sha256,
    evaluate,
    load_evaluation,
    require_passing_evaluation,
)
from modelyard.evaluate._gates import BLOCK, HOLD, PROMOTE, Check, check_gates, verdict_of
from modelyard.evaluate._metrics import (
    average_precision,
    brier_score,
    calibration_curve,
    confusion,
    expected_calibration_error,
    log_loss,
    roc_auc,
    threshold_metrics,
)
from modelyard.evaluate._schema import SCHEMA, SCHEMA_VERSION

__all__ = [
    "BLOCK",
    "HOLD",
    "MIN_ROWS_PER_CLASS",
    "PROMOTE",
    "RESAMPLING",
    "SCHEMA",
    "SCHEMA_VERSION",
    "THRESHOLD_SELECTION",
    "Check",
    "CostCurve",
    "Evaluation",
    "EvaluationError",
    "Interval",
    "NoPassingEvaluationError",
    "RowCosts",
    "average_precision",
    "bootstrap_sums",
    "brier_score",
    "calibration_curve",
    "check_gates",
    "confusion",
    "cost_at",
    "cost_curve",
    "cost_model_sha256",
    "cross_fit_decisions",
    "demo_stage",
    "evaluate",
    "expected_calibration_error",
    "interval",
    "load_evaluation",
    "log_loss",
    "paired_cost_bootstrap",
    "require_passing_evaluation",
    "resample_indices",
    "roc_auc",
    "row_costs",
    "threshold_metrics",
    "verdict_of",
]

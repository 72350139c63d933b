"""The research board: research items linked to the models they produce, and the views over them.

>>> from modelyard.board import Board
>>> board = Board(yard)  # doctest: +SKIP
>>> board.add_item("Gradient boosting on usage signals", owner="carol@research", risk="risky")  # doctest: +SKIP

Items move idea → exploring → productionizing → shipped (or dropped). Registering a version with
``research_item="RI-1"`` moves RI-1 to productionizing and promoting it to production ships it;
rolling it back out of production or retiring it after it served sends RI-1 back to productionizing
unless another of its versions is still in production (:class:`BoardListener`); retiring a version
that never served (a candidate, shadow or canary) moves nothing. Each automatic move is recorded
with its cause.
"""

import importlib
from typing import Any

from modelyard.board._board import Board
from modelyard.board._inputs import TARGET_METRICS, parse_target
from modelyard.board._listener import BoardListener
from modelyard.board._records import ItemStage, Link, ResearchItem, Risk, Target, Update
from modelyard.board._render import kanban_html, kanban_table, portfolio_table, radar_table
from modelyard.board._report import ResearchReport
from modelyard.board._settings import BoardSettings
from modelyard.board._stages import ALLOWED_ITEM_MOVES
from modelyard.board._views import Effort, Kanban, Portfolio, PortfolioRow, Radar, RadarEntry, Saving, Sprint

# The feasibility study needs scipy and scikit-learn (about 1 s to import): it loads on first use,
# so that opening a yard, which imports the board for its listener, does not pay for it.
_LAZY = {
    **dict.fromkeys(
        (
            "FEASIBILITY_METRICS",
            "MIN_MINORITY",
            "MIN_ROWS",
            "TIME_HOLDOUT",
            "Curve",
            "FeasibilityResult",
            "Prediction",
            "Split",
            "load_use_case_data",
            "study_feasibility",
        ),
        "modelyard.board._feasibility",
    ),
    "demo_stage": "modelyard.board._demo",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'modelyard.board' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "ALLOWED_ITEM_MOVES",
    "FEASIBILITY_METRICS",
    "MIN_MINORITY",
    "MIN_ROWS",
    "TARGET_METRICS",
    "TIME_HOLDOUT",
    "Board",
    "BoardListener",
    "BoardSettings",
    "Curve",
    "Effort",
    "FeasibilityResult",
    "ItemStage",
    "Kanban",
    "Link",
    "Portfolio",
    "PortfolioRow",
    "Prediction",
    "Radar",
    "RadarEntry",
    "ResearchItem",
    "ResearchReport",
    "Risk",
    "Saving",
    "Split",
    "Sprint",
    "Target",
    "Update",
    "demo_stage",
    "kanban_html",
    "kanban_table",
    "load_use_case_data",
    "parse_target",
    "portfolio_table",
    "radar_table",
    "study_feasibility",
]

"""The demo's research board: a handful of realistic items, one of them behind the demo's challenger."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from rich.console import Console

from modelyard.board._board import Board
from modelyard.board._render import kanban_table, portfolio_table, radar_table

if TYPE_CHECKING:
    from modelyard._yard import Yard

__all__ = ["demo_stage"]


def demo_stage(yard: Yard, console: Console, *, today: date | None = None) -> Board:
    """Put six research items on the board (RI-1 is the challenger's), then show the Kanban and the radar."""
    day = today or date.today()
    board = Board(yard)
    ri1 = board.add_item(  # picks up churn/v2, registered earlier with research_item="RI-1"
        "Gradient boosting on usage signals",
        hypothesis="Trees on every input catch the fiber-without-support churners the baseline misses",
        use_case="churn",
        owner="carol@research",
        risk="risky",
        target="roc_auc>=0.84",
        expected_drop=day + timedelta(days=9),
        stage="exploring",
    )
    board.note(ri1.id, "v2 in shadow next to v1; waiting for a month of labels", author="carol@research")
    board.add_item(
        "Recalibrate the baseline's scores",
        hypothesis="Isotonic calibration lowers the cost of the chosen threshold without a new model",
        use_case="churn",
        owner="alice@retention",
        risk="safe",
        target="brier<=0.13",
        expected_drop=day + timedelta(days=20),
        stage="exploring",
    )
    board.add_item(
        "Tenure cohorts as features",
        hypothesis="Customers in month 1-3 churn for different reasons; cohort flags help the linear model",
        use_case="churn",
        owner="alice@retention",
        risk="safe",
        target="roc_auc>=0.83",
        expected_drop=day + timedelta(days=34),
    )
    board.add_item(
        "Uplift model for retention offers",
        hypothesis="Targeting who responds to the offer, not who churns, halves the wasted offers",
        use_case="churn",
        owner="dan@research",
        risk="risky",
        target="cost_saving>=25000",
        expected_drop=day + timedelta(days=75),
    )
    board.add_item(
        "Call-centre transcripts sentiment",
        hypothesis="Angry calls precede churn by weeks",
        use_case="churn",
        owner="dan@research",
        risk="risky",
        target="roc_auc>=0.86",
        expected_drop=day - timedelta(days=5),
        stage="exploring",
    )
    dropped = board.add_item(
        "Payment-method interactions",
        hypothesis="Electronic-check payers on month-to-month contracts are a segment of their own",
        use_case="churn",
        owner="alice@retention",
        risk="safe",
        expected_drop=day + timedelta(days=3),
        stage="exploring",
    )
    board.move(
        dropped.id, "dropped", reason="the trees of RI-1 already capture the interaction", actor="alice@retention"
    )
    console.print(kanban_table(board.kanban(), today=day))
    console.print(radar_table(board.radar(weeks=6, today=day)))
    console.print(portfolio_table(board.portfolio()))
    return board

"""The research board of a yard: items, moves, notes, links and the views over them (the Python API)."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelyard._exceptions import NotFoundError, UsageError
from modelyard.board import _repository as repo
from modelyard.board._automation import follow_version, move_item
from modelyard.board._inputs import (
    normalize_item_id,
    parse_date,
    parse_quarter,
    parse_risk,
    parse_target,
    quarter_of,
)
from modelyard.board._records import ItemStage, ResearchItem, Risk, Target, Update
from modelyard.board._settings import BoardSettings
from modelyard.board._stages import check_item_move, parse_item_stage
from modelyard.board._views import Kanban, Portfolio, Radar, build_kanban, build_portfolio, build_radar
from modelyard.store import Stage, Store, utcnow

if TYPE_CHECKING:
    from modelyard._yard import Yard
    from modelyard.board._feasibility import FeasibilityResult
    from modelyard.board._report import ResearchReport

__all__ = ["Board"]

_RETRIES = 5


def _text(value: str, field: str, example: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"A research item needs a {field}; got {value!r}. Give one, e.g. {example}")
    return value.strip()


def _team_of(owner: str) -> str:
    """``carol@research`` belongs to team ``research``; a bare name is a team of one."""
    _, sep, team = owner.partition("@")
    return team if sep and team else owner


class Board:
    """The research board of a yard::

        board = Board(yard)
        item = board.add_item("Gradient boosting on usage signals", owner="carol@research", risk="risky",
                              use_case="churn", target="roc_auc>=0.80", expected_drop="2026-12-15")
        board.move(item.id, "exploring", reason="first notebook looks promising")
        board.kanban(); board.radar(weeks=6); board.portfolio()

    Every write is one transaction: a bad input raises before anything is written.
    """

    def __init__(self, yard: Yard, settings: BoardSettings | None = None) -> None:
        self.yard = yard
        self.settings = settings or BoardSettings()

    @property
    def store(self) -> Store:
        return self.yard.store

    def _actor(self, who: str | None) -> str:
        return who or self.yard.settings.author

    # -- items -----------------------------------------------------------------------------

    def add_item(
        self,
        title: str,
        *,
        hypothesis: str = "",
        owner: str | None = None,
        team: str | None = None,
        risk: Risk | str = Risk.SAFE,
        use_case: str | None = None,
        target: Target | str | None = None,
        expected_drop: date | str | None = None,
        quarter: str | None = None,
        stage: ItemStage | str = ItemStage.IDEA,
    ) -> ResearchItem:
        """Put a new item on the board as ``RI-<next number>``.

        Versions registered earlier with this id as their ``research_item`` are linked at once, and
        move the item as they would have (productionizing, or shipped when one is in production).
        """
        title = _text(title, "title", "'Gradient boosting on usage signals'")
        owner = _text(owner or self.yard.settings.author, "owner", "--owner carol@research")
        team = team.strip() if team and team.strip() else _team_of(owner)
        parsed_risk = parse_risk(risk)
        parsed_target = parse_target(target) if target is not None else None
        drop = parse_date(expected_drop) if expected_drop is not None else None
        parsed_quarter = parse_quarter(quarter) if quarter else (quarter_of(drop) if drop else None)
        first = parse_item_stage(stage)
        if first not in (ItemStage.IDEA, ItemStage.EXPLORING, ItemStage.PRODUCTIONIZING):
            raise UsageError(
                f"A new item starts as idea, exploring or productionizing, not {first.value}; add it, then move it"
            )
        for attempt in range(_RETRIES):
            try:
                return self._insert_item(
                    title, hypothesis, use_case, owner, team, parsed_risk, parsed_target, drop, parsed_quarter, first
                )
            except sa.exc.IntegrityError:  # another writer took the same number first (PostgreSQL)
                if attempt == _RETRIES - 1:
                    raise
                time.sleep(0.02 * (2**attempt))
        raise AssertionError("unreachable")

    def _insert_item(
        self,
        title: str,
        hypothesis: str,
        use_case: str | None,
        owner: str,
        team: str,
        parsed_risk: Risk,
        parsed_target: Target | None,
        drop: date | None,
        parsed_quarter: str | None,
        first: ItemStage,
    ) -> ResearchItem:
        with self.store.writing() as conn:
            now = utcnow()
            number = repo.next_number(conn)
            item_id = f"RI-{number}"
            repo.insert_item(
                conn,
                {
                    "id": item_id,
                    "number": number,
                    "title": title,
                    "hypothesis": (hypothesis or "").strip(),
                    "use_case": use_case,
                    "owner": owner,
                    "team": team,
                    "risk": parsed_risk.value,
                    "stage": first.value,
                    "target_metric": parsed_target.metric if parsed_target else None,
                    "target_op": parsed_target.op if parsed_target else None,
                    "target_value": parsed_target.value if parsed_target else None,
                    "expected_drop": drop,
                    "quarter": parsed_quarter,
                    "created_at": now,
                    "updated_at": now,
                },
            )
            repo.add_update(
                conn, item_id, kind="created", text=f"added as {first.value}", author=owner, at=now, to_stage=first
            )
            self._adopt_earlier_versions(conn, item_id, now)
            found = repo.get_item(conn, item_id)
        assert found is not None
        return found

    def _adopt_earlier_versions(self, conn: Connection, item_id: str, now: Any) -> None:
        for use_case, version, stage in repo.versions_naming(conn, item_id):
            item = repo.get_item(conn, item_id)
            assert item is not None
            follow_version(
                conn,
                item,
                use_case,
                version,
                stage == Stage.PRODUCTION.value,
                cause=f"{use_case}/v{version} was registered with research item {item_id} before the item existed",
                author=self.yard.settings.author,
                now=now,
            )

    def item(self, item_id: str) -> ResearchItem:
        """One item with its links."""
        key = normalize_item_id(item_id)
        with self.store.reading() as conn:
            return self._get(conn, key, item_id)

    def items(
        self, *, stage: ItemStage | str | None = None, owner: str | None = None, team: str | None = None
    ) -> list[ResearchItem]:
        """Every item in id order, optionally of one stage, owner or team."""
        wanted = parse_item_stage(stage) if stage is not None else None
        with self.store.reading() as conn:
            found = repo.list_items(conn)
        return [
            i
            for i in found
            if (wanted is None or i.stage == wanted)
            and (owner is None or i.owner == owner)
            and (team is None or i.team == team)
        ]

    def updates(self, item_id: str | None = None, *, since: date | None = None) -> list[Update]:
        """Dated updates, oldest first: of one item, or of the whole board."""
        key = normalize_item_id(item_id) if item_id is not None else None
        start = datetime.combine(since, clock(), tzinfo=UTC) if since is not None else None
        with self.store.reading() as conn:
            if key is not None:
                self._get(conn, key, item_id or key)
            return repo.list_updates(conn, key, start)

    def _get(self, conn: Connection, key: str, typed: str) -> ResearchItem:
        found = repo.get_item(conn, key)
        if found is None:
            known = [i.id for i in repo.list_items(conn)]
            hint = f"it has {_span(known)}" if known else "the board is empty; add one with 'modelyard board add'"
            raise NotFoundError(f"No research item {typed!r} on the board; {hint}")
        return found

    # -- changes ---------------------------------------------------------------------------

    def move(self, item_id: str, stage: ItemStage | str, *, reason: str, actor: str | None = None) -> ResearchItem:
        """Move an item by hand (see :mod:`modelyard.board._stages` for the legal moves)."""
        key = normalize_item_id(item_id)
        target = parse_item_stage(stage)
        if not isinstance(reason, str) or not reason.strip():
            raise UsageError('A stage move needs a reason (--reason "..."); the item\'s history records it')
        with self.store.writing() as conn:
            repo.lock_item(conn, key)
            item = self._get(conn, key, item_id)
            check_item_move(item.id, item.stage, target)
            move_item(conn, item, target, cause=reason.strip(), author=self._actor(actor), now=utcnow())
            moved = repo.get_item(conn, key)
        assert moved is not None
        return moved

    def note(self, item_id: str, text: str, *, author: str | None = None) -> Update:
        """Add a dated update to an item."""
        key = normalize_item_id(item_id)
        if not isinstance(text, str) or not text.strip():
            raise UsageError("A note needs some text; write what changed, e.g. 'AUC 0.81 on the March data'")
        with self.store.writing() as conn:
            self._get(conn, key, item_id)
            repo.add_update(conn, key, kind="note", text=text.strip(), author=self._actor(author), at=utcnow())
            return repo.list_updates(conn, key)[-1]

    def link(self, item_id: str, use_case: str, version: int | str, *, actor: str | None = None) -> ResearchItem:
        """Link a registered version to an item by hand; the item moves as if it had been registered with it."""
        key = normalize_item_id(item_id)
        who = self._actor(actor)
        with self.store.writing() as conn:
            item = self._get(conn, key, item_id)
            mv = Store.get_version(conn, use_case, _version_number(version))
            if mv is None:
                raise NotFoundError(
                    f"{use_case} has no version {version}; see 'modelyard models list {use_case}' for its versions"
                )
            follow_version(
                conn,
                item,
                mv.use_case,
                mv.version,
                mv.stage == Stage.PRODUCTION,
                cause=f"linked by {who}",
                author=who,
                now=utcnow(),
            )
            linked = repo.get_item(conn, key)
        assert linked is not None
        return linked

    # -- views -----------------------------------------------------------------------------

    def kanban(self) -> Kanban:
        """Items by stage."""
        return build_kanban(self.items())

    def portfolio(self, policy: BoardSettings | None = None) -> Portfolio:
        """Share of risky open items per owner and per team, against the policy (warnings outside it)."""
        return build_portfolio(self.items(), policy or self.settings)

    def radar(
        self,
        weeks: int = 6,
        *,
        sprint_length_days: int | None = None,
        sprint_start: date | str | None = None,
        today: date | None = None,
    ) -> Radar:
        """Open items expected in the next ``weeks`` weeks, by sprint, each with its integration effort."""
        if not isinstance(weeks, int) or weeks < 1:
            raise UsageError(
                f"The 'weeks' parameter must be a whole number of weeks, 1 or more. Got {weeks!r} instead."
            )
        length = sprint_length_days if sprint_length_days is not None else self.settings.sprint_length_days
        if not isinstance(length, int) or length < 1:
            raise UsageError(f"The sprint length must be a whole number of days, 1 or more. Got {length!r} instead.")
        start = parse_date(sprint_start, "sprint start date") if sprint_start else self.settings.sprint_start
        day = today or date.today()
        with self.store.reading() as conn:
            return build_radar(
                conn, repo.list_items(conn), today=day, weeks=weeks, sprint_length_days=length, sprint_start=start
            )

    def report(
        self, since: str | timedelta | date = "14d", *, today: date | None = None, weeks: int = 6
    ) -> ResearchReport:
        """The research update: what changed since ``since`` (``14d``, ``2w`` or a date), as Markdown and HTML."""
        from modelyard.board._report import build_report

        return build_report(self, since, today=today or date.today(), weeks=weeks)

    def feasibility(
        self,
        use_case: str,
        target: Target | str,
        *,
        data: str | Path | None = None,
        item: str | None = None,
        plot: str | Path | None = None,
        **options: Any,
    ) -> FeasibilityResult:
        """Is the problem solvable enough? Learning curves of quick baselines; see :func:`study_feasibility`.

        When the spec names a time column (``data.time``), the folds train on earlier rows and
        validate on later ones; otherwise they are random, and the result says which it used.
        """
        from modelyard.board._feasibility import load_use_case_data, study_feasibility

        parsed = parse_target(target)
        key = normalize_item_id(item) if item is not None else None
        if key is not None:
            self.item(key)  # fail before the work when the item does not exist
        spec = self.yard.use_case(use_case)
        x, y, times = load_use_case_data(spec, data, self.yard.settings.root)
        result = study_feasibility(x, y, parsed, use_case=spec.name, times=times, time_column=spec.data.time, **options)
        if plot is not None:
            result.plot(plot)
        if key is not None:
            with self.store.writing() as conn:
                repo.add_update(
                    conn,
                    key,
                    kind="feasibility",
                    text=result.headline,
                    author=self.yard.settings.author,
                    at=utcnow(),
                    data=result.to_dict(),
                )
        return result


def _version_number(value: int | str) -> int:
    text = str(value).strip().lower().removeprefix("v")
    if not (text.isascii() and text.isdigit()):
        raise UsageError(f"The version {value!r} is not a version number; write e.g. 3 or v3")
    return int(text)


def _span(ids: list[str]) -> str:
    if len(ids) <= 6:
        return ", ".join(ids)
    return f"{', '.join(ids[:3])}, …, {ids[-1]} ({len(ids)} items)"

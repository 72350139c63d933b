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
    check_text,
    check_weeks,
    normalize_item_id,
    parse_date,
    parse_quarter,
    parse_risk,
    parse_since,
    parse_target,
    quarter_of,
)
from modelyard.board._records import ItemStage, ResearchItem, Risk, Target, Update
from modelyard.board._settings import SPRINT_DAYS_MAX, BoardSettings
from modelyard.board._stages import check_item_move, parse_item_stage
from modelyard.board._views import Kanban, Portfolio, Radar, build_kanban, build_portfolio, build_radar
from modelyard.registry._registry import ACTOR_MAX, REASON_MAX
from modelyard.spec import UseCase
from modelyard.store import Stage, Store, utcnow

if TYPE_CHECKING:
    from modelyard._yard import Yard
    from modelyard.board._feasibility import FeasibilityResult
    from modelyard.board._report import ResearchReport

__all__ = ["Board"]

_RETRIES = 5


#: Characters of an item's title.
TITLE_MAX = 200
#: Characters of an owner's, a team's or an author's name: what the board's columns hold (VARCHAR(128)).
NAME_MAX = ACTOR_MAX


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

    def _actor(self, who: str | None, name: str = "actor") -> str:
        """Who makes a change: ``who`` when given, else the settings' author (the logged-in user)."""
        return check_text(name, who or self.yard.settings.author, NAME_MAX)

    def _use_case_name(self, use_case: str | UseCase) -> str:
        """The name of a use case the yard knows (a spec file or registered versions). A yard that
        knows none yet (a project started from the board) takes any name: there is nothing to
        misspell."""
        if isinstance(use_case, UseCase):
            name = use_case.name
        else:
            name = check_text("use case", use_case, NAME_MAX, required="--use-case churn")
        known = sorted(u.name for u in self.yard.use_cases())
        if known and name not in known:
            listing = f"it knows {', '.join(known)}"
            raise NotFoundError(
                f"No use case {name!r} in this yard ({listing}); name one of them with --use-case, "
                f"or write usecases/{name}.yaml first"
            )
        return name

    # -- items -----------------------------------------------------------------------------

    def add_item(
        self,
        title: str,
        *,
        hypothesis: str = "",
        owner: str | None = None,
        team: str | None = None,
        risk: Risk | str = Risk.SAFE,
        use_case: str | UseCase | None = None,
        target: Target | str | None = None,
        expected_drop: date | str | None = None,
        quarter: str | None = None,
        stage: ItemStage | str = ItemStage.IDEA,
    ) -> ResearchItem:
        """Put a new item on the board as ``RI-<next number>``.

        Versions registered earlier with this id as their ``research_item`` are linked at once, and
        move the item as they would have (productionizing, or shipped when one is in production).
        """
        title = check_text("title", title, TITLE_MAX, required="'Gradient boosting on usage signals'")
        hypothesis = check_text("hypothesis", hypothesis if hypothesis is not None else "", REASON_MAX)
        author = self._actor(None, "author")
        owner = check_text("owner", owner or author, NAME_MAX, required="--owner carol@research")
        team_name = check_text("team", team, NAME_MAX) if team is not None else ""
        team = team_name or _team_of(owner)
        use_case_name = self._use_case_name(use_case) if use_case is not None else None
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
                    title,
                    hypothesis,
                    use_case_name,
                    owner,
                    team,
                    parsed_risk,
                    parsed_target,
                    drop,
                    parsed_quarter,
                    first,
                    author,
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
        author: str,
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
                    "hypothesis": hypothesis,
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
                conn, item_id, kind="created", text=f"added as {first.value}", author=author, at=now, to_stage=first
            )
            self._adopt_earlier_versions(conn, item_id, now, author)
            found = repo.get_item(conn, item_id)
        assert found is not None
        return found

    def _adopt_earlier_versions(self, conn: Connection, item_id: str, now: Any, author: str) -> None:
        for use_case, version, stage in repo.versions_naming(conn, item_id):
            item = repo.get_item(conn, item_id)
            assert item is not None
            follow_version(
                conn,
                item,
                use_case,
                version,
                Stage(stage),
                cause=f"{use_case}/v{version} was registered with research item {item_id} before the item existed",
                author=author,
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

    def updates(
        self, item_id: str | None = None, *, since: str | timedelta | date | datetime | None = None
    ) -> list[Update]:
        """Dated updates, oldest first: of one item, or of the whole board; ``since`` (a date or date-time,
        naive ones in UTC, or a span back from today such as ``14d``) keeps those made from then on."""
        key = normalize_item_id(item_id) if item_id is not None else None
        start = _start_of(since)
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
        why = check_text("reason", reason, REASON_MAX)
        who = self._actor(actor)
        with self.store.writing() as conn:
            repo.lock_item(conn, key)
            item = self._get(conn, key, item_id)
            check_item_move(item.id, item.stage, target)
            move_item(conn, item, target, cause=why, author=who, now=utcnow())
            moved = repo.get_item(conn, key)
        assert moved is not None
        return moved

    def note(self, item_id: str, text: str, *, author: str | None = None) -> Update:
        """Add a dated update to an item."""
        key = normalize_item_id(item_id)
        if not isinstance(text, str) or not text.strip():
            raise UsageError("A note needs some text; write what changed, e.g. 'AUC 0.81 on the March data'")
        what = check_text("note", text, REASON_MAX)
        who = self._actor(author, "author")
        with self.store.writing() as conn:
            self._get(conn, key, item_id)
            repo.add_update(conn, key, kind="note", text=what, author=who, at=utcnow())
            return repo.list_updates(conn, key)[-1]

    def link(
        self, item_id: str, use_case: str | UseCase, version: int | str, *, actor: str | None = None
    ) -> ResearchItem:
        """Link a registered version to an item by hand; the item moves as if it had been registered with it
        (a retired or archived version is linked, and the item stays where it is)."""
        key = normalize_item_id(item_id)
        who = self._actor(actor)
        name = use_case.name if isinstance(use_case, UseCase) else check_text("use case", use_case, NAME_MAX)
        number = _version_number(version)
        with self.store.writing() as conn:
            item = self._get(conn, key, item_id)
            mv = Store.get_version(conn, name, number)
            if mv is None:
                raise NotFoundError(
                    f"{name} has no version {version}; see 'modelyard models list {name}' for its versions"
                )
            follow_version(
                conn,
                item,
                mv.use_case,
                mv.version,
                mv.stage,
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
        check_weeks(weeks)
        length = sprint_length_days if sprint_length_days is not None else self.settings.sprint_length_days
        if isinstance(length, bool) or not isinstance(length, int) or not 1 <= length <= SPRINT_DAYS_MAX:
            raise UsageError(
                f"The sprint length in days (--sprint-length) must be a whole number from 1 to {SPRINT_DAYS_MAX}. "
                f"Got {length!r} instead."
            )
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

        check_weeks(weeks)
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


def _start_of(since: str | timedelta | date | datetime | None) -> datetime | None:
    """The moment ``since`` names: a date-time as given (naive: UTC), a date's midnight (UTC), or a span."""
    if since is None:
        return None
    if isinstance(since, datetime):
        return since if since.tzinfo is not None else since.replace(tzinfo=UTC)
    if not isinstance(since, date):
        since = parse_since(since, date.today())
    return datetime.combine(since, clock(), tzinfo=UTC)


def _version_number(value: int | str) -> int:
    text = str(value).strip().lower().removeprefix("v")
    if not (text.isascii() and text.isdigit()):
        raise UsageError(f"The version {value!r} is not a version number; write e.g. 3 or v3")
    return int(text)


def _span(ids: list[str]) -> str:
    if len(ids) <= 6:
        return ", ".join(ids)
    return f"{', '.join(ids[:3])}, …, {ids[-1]} ({len(ids)} items)"

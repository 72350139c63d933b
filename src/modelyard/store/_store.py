"""The registry database behind named functions. Every read and write goes through here."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from modelyard._exceptions import StoreUnavailableError
from modelyard.store._engine import create_store_engine, describe_url, migrate, write_transaction
from modelyard.store._records import (
    CheckRecord,
    EvaluationRecord,
    ModelVersion,
    Stage,
    StageChange,
    UseCaseRecord,
)
from modelyard.store._schema import check_results, evaluations, model_versions, stage_changes, use_cases
from modelyard.store._schema_predictions import PREDICTION_COLUMNS, predictions, traffic_splits

__all__ = ["Store"]


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class Store:
    """The registry database: SQLite by default, PostgreSQL for teams.

    Opening a store connects, and migrates the schema to the newest revision.
    Reads run in :meth:`reading`, writes in :meth:`writing` (one transaction each).
    """

    def __init__(self, url: str) -> None:
        self.url = describe_url(url)
        self.engine: Engine = create_store_engine(url)
        try:
            migrate(self.engine)
        except sa.exc.OperationalError as exc:
            self.engine.dispose()
            raise StoreUnavailableError(
                f"Cannot open the registry database {self.url}: {_first_line(exc)}; "
                "check MODELYARD_DATABASE_URL and that the database server is running"
            ) from exc

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    @contextlib.contextmanager
    def reading(self) -> Iterator[Connection]:
        """A read-only transaction."""
        try:
            with self.engine.connect() as conn, conn.begin():
                yield conn
        except sa.exc.OperationalError as exc:
            raise StoreUnavailableError(f"Lost the registry database {self.url}: {_first_line(exc)}") from exc

    @contextlib.contextmanager
    def writing(self) -> Iterator[Connection]:
        """A write transaction: all of it commits, or none of it."""
        try:
            with write_transaction(self.engine) as conn:
                yield conn
        except sa.exc.OperationalError as exc:
            raise StoreUnavailableError(f"Lost the registry database {self.url}: {_first_line(exc)}") from exc

    # -- use cases -------------------------------------------------------------------------

    @staticmethod
    def save_use_case(conn: Connection, name: str, spec_sha256: str, spec_yaml: str, now: datetime) -> None:
        """Record the spec a use case has now (insert, or update when it changed)."""
        row = conn.execute(sa.select(use_cases.c.spec_sha256).where(use_cases.c.name == name)).first()
        if row is None:
            conn.execute(
                use_cases.insert().values(
                    name=name, spec_sha256=spec_sha256, spec_yaml=spec_yaml, created_at=now, updated_at=now
                )
            )
        elif row.spec_sha256 != spec_sha256:
            conn.execute(
                use_cases.update()
                .where(use_cases.c.name == name)
                .values(spec_sha256=spec_sha256, spec_yaml=spec_yaml, updated_at=now)
            )

    @staticmethod
    def lock_use_case(conn: Connection, name: str) -> bool:
        """Serialise writers of one use case (row lock on PostgreSQL; SQLite holds its write lock)."""
        stmt = sa.select(use_cases.c.name).where(use_cases.c.name == name)
        if conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        return conn.execute(stmt).first() is not None

    @staticmethod
    def get_use_case(conn: Connection, name: str) -> UseCaseRecord | None:
        row = conn.execute(sa.select(use_cases).where(use_cases.c.name == name)).first()
        return UseCaseRecord(**row._mapping) if row else None

    @staticmethod
    def list_use_cases(conn: Connection) -> list[UseCaseRecord]:
        rows = conn.execute(sa.select(use_cases).order_by(use_cases.c.name))
        return [UseCaseRecord(**row._mapping) for row in rows]

    # -- model versions --------------------------------------------------------------------

    @staticmethod
    def next_version(conn: Connection, use_case: str) -> int:
        top = conn.execute(
            sa.select(sa.func.max(model_versions.c.version)).where(model_versions.c.use_case == use_case)
        ).scalar()
        return int(top or 0) + 1

    @staticmethod
    def insert_version(conn: Connection, values: Mapping[str, Any]) -> ModelVersion:
        conn.execute(model_versions.insert().values(**values))
        found = Store.get_version(conn, values["use_case"], values["version"])
        assert found is not None  # we just inserted it inside this transaction
        return found

    @staticmethod
    def get_version(conn: Connection, use_case: str, version: int) -> ModelVersion | None:
        row = conn.execute(
            sa.select(model_versions).where(model_versions.c.use_case == use_case, model_versions.c.version == version)
        ).first()
        return _version(row._mapping) if row else None

    @staticmethod
    def find_by_sha256(conn: Connection, use_case: str, sha256: str) -> ModelVersion | None:
        row = conn.execute(
            sa.select(model_versions).where(
                model_versions.c.use_case == use_case, model_versions.c.artifact_sha256 == sha256
            )
        ).first()
        return _version(row._mapping) if row else None

    @staticmethod
    def list_versions(conn: Connection, use_case: str | None = None, stage: Stage | None = None) -> list[ModelVersion]:
        stmt = sa.select(model_versions).order_by(model_versions.c.use_case, model_versions.c.version)
        if use_case is not None:
            stmt = stmt.where(model_versions.c.use_case == use_case)
        if stage is not None:
            stmt = stmt.where(model_versions.c.stage == stage.value)
        return [_version(row._mapping) for row in conn.execute(stmt)]

    @staticmethod
    def set_stage(conn: Connection, use_case: str, version: int, stage: Stage) -> None:
        conn.execute(
            model_versions.update()
            .where(model_versions.c.use_case == use_case, model_versions.c.version == version)
            .values(stage=stage.value)
        )

    @staticmethod
    def set_threshold(conn: Connection, use_case: str, version: int, threshold: float) -> None:
        conn.execute(
            model_versions.update()
            .where(model_versions.c.use_case == use_case, model_versions.c.version == version)
            .values(threshold=threshold)
        )

    # -- the audit trail -------------------------------------------------------------------

    @staticmethod
    def append_stage_change(conn: Connection, values: Mapping[str, Any]) -> None:
        conn.execute(stage_changes.insert().values(**values))

    @staticmethod
    def list_stage_changes(conn: Connection, use_case: str, version: int | None = None) -> list[StageChange]:
        stmt = sa.select(stage_changes).where(stage_changes.c.use_case == use_case)
        if version is not None:
            stmt = stmt.where(stage_changes.c.version == version)
        rows = conn.execute(stmt.order_by(stage_changes.c.id))
        return [_stage_change(row._mapping) for row in rows]

    # -- handoff checks and evaluations ----------------------------------------------------

    @staticmethod
    def save_check_result(
        conn: Connection,
        use_case: str,
        version: int,
        *,
        passed: bool,
        result: dict[str, Any],
        now: datetime,
        data_ref: str | None = None,
    ) -> CheckRecord:
        """Store one check result; returns it with its new id (``chk_…``)."""
        values: dict[str, Any] = {
            "id": f"chk_{uuid.uuid4().hex[:16]}",
            "use_case": use_case,
            "version": version,
            "passed": passed,
            "result": result,
            "created_at": now,
            "data_ref": data_ref,
        }
        conn.execute(check_results.insert().values(**values))
        return CheckRecord(**values)

    @staticmethod
    def list_check_results(conn: Connection, use_case: str, version: int | None = None) -> list[CheckRecord]:
        """Check results of a use case (or one version), oldest first."""
        stmt = sa.select(check_results).where(check_results.c.use_case == use_case)
        if version is not None:
            stmt = stmt.where(check_results.c.version == version)
        rows = conn.execute(stmt.order_by(check_results.c.created_at, check_results.c.id))
        return [CheckRecord(**row._mapping) for row in rows]

    @staticmethod
    def latest_check_result(conn: Connection, use_case: str, version: int) -> CheckRecord | None:
        """The newest check result of a version, or None when it was never checked."""
        results = Store.list_check_results(conn, use_case, version)
        return results[-1] if results else None

    @staticmethod
    def save_evaluation(conn: Connection, values: Mapping[str, Any]) -> EvaluationRecord:
        """Store one evaluation (``id`` is generated when not given, ``ev_…``)."""
        data = {"id": f"ev_{uuid.uuid4().hex[:16]}", **values}
        conn.execute(evaluations.insert().values(**data))
        return EvaluationRecord(**data)

    @staticmethod
    def get_evaluation(conn: Connection, evaluation_id: str) -> EvaluationRecord | None:
        row = conn.execute(sa.select(evaluations).where(evaluations.c.id == evaluation_id)).first()
        return EvaluationRecord(**row._mapping) if row else None

    @staticmethod
    def list_evaluations(
        conn: Connection, use_case: str, challenger_version: int | None = None
    ) -> list[EvaluationRecord]:
        """Evaluations of a use case (or of one challenger version), oldest first."""
        stmt = sa.select(evaluations).where(evaluations.c.use_case == use_case)
        if challenger_version is not None:
            stmt = stmt.where(evaluations.c.challenger_version == challenger_version)
        rows = conn.execute(stmt.order_by(evaluations.c.created_at, evaluations.c.id))
        return [EvaluationRecord(**row._mapping) for row in rows]

    # -- the model server: prediction log (team mode) and traffic splits -----------------------

    @staticmethod
    def insert_predictions(conn: Connection, columns: Mapping[str, Sequence[Any]]) -> int:
        """Append logged predictions given column by column (``inputs`` as JSON text); returns the row count.

        PostgreSQL takes them with one ``COPY``; other databases with one executemany ``INSERT``.
        """
        rows = list(zip(*(columns[name] for name in PREDICTION_COLUMNS), strict=True))
        if not rows:
            return 0
        if conn.dialect.name == "postgresql":
            names = ", ".join(f'"{name}"' for name in PREDICTION_COLUMNS)
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            with cursor, cursor.copy(f"COPY {predictions.name} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return len(rows)
        stmt = predictions.insert().values(inputs=sa.bindparam("inputs_json", type_=sa.Text))
        keys = [name if name != "inputs" else "inputs_json" for name in PREDICTION_COLUMNS]
        conn.execute(stmt, [dict(zip(keys, row, strict=True)) for row in rows])
        return len(rows)

    @staticmethod
    def read_predictions(conn: Connection, use_case: str | None = None) -> dict[str, list[Any]]:
        """Logged predictions (of one use case when given), oldest first, column by column; ``inputs``
        as JSON text."""
        selected = [
            sa.cast(predictions.c.inputs, sa.Text).label(name) if name == "inputs" else predictions.c[name]
            for name in PREDICTION_COLUMNS
        ]
        stmt = sa.select(*selected).order_by(predictions.c.at, predictions.c.id)
        if use_case is not None:
            stmt = stmt.where(predictions.c.use_case == use_case)
        rows = conn.execute(stmt).all()
        values = list(zip(*rows, strict=True)) if rows else [() for _ in PREDICTION_COLUMNS]
        return {name: list(column) for name, column in zip(PREDICTION_COLUMNS, values, strict=True)}

    @staticmethod
    def append_traffic_split(conn: Connection, values: Mapping[str, Any]) -> None:
        """Record a new canary fraction of a use case (who, why, when, which canary)."""
        conn.execute(traffic_splits.insert().values(**values))

    @staticmethod
    def current_traffic_splits(conn: Connection) -> list[dict[str, Any]]:
        """The split in force of every use case that has one: its newest row."""
        newest = sa.select(sa.func.max(traffic_splits.c.id)).group_by(traffic_splits.c.use_case)
        rows = conn.execute(
            sa.select(traffic_splits).where(traffic_splits.c.id.in_(newest)).order_by(traffic_splits.c.use_case)
        )
        return [dict(row._mapping) for row in rows]

    @staticmethod
    def list_traffic_splits(conn: Connection, use_case: str) -> list[dict[str, Any]]:
        """Every split a use case had, oldest first."""
        rows = conn.execute(
            sa.select(traffic_splits).where(traffic_splits.c.use_case == use_case).order_by(traffic_splits.c.id)
        )
        return [dict(row._mapping) for row in rows]


def _version(row: Mapping[Any, Any]) -> ModelVersion:
    data = dict(row)
    data.pop("id", None)
    data["stage"] = Stage(data["stage"])
    return ModelVersion(**data)


def _stage_change(row: Mapping[Any, Any]) -> StageChange:
    data = dict(row)
    data["from_stage"] = Stage(data["from_stage"]) if data["from_stage"] else None
    data["to_stage"] = Stage(data["to_stage"])
    return StageChange(**data)

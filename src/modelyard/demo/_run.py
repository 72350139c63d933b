"""``modelyard demo``: a complete yard on real churn data, built in a fresh folder."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.panel import Panel
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from modelyard._exceptions import UsageError
from modelyard._settings import Settings
from modelyard._yard import Yard
from modelyard.data import build_snapshot, read_snapshot, split_by_time
from modelyard.demo._data import load_raw_churn, write_monthly_partitions
from modelyard.demo.features import CATEGORICAL, FLAGS, NUMERIC

__all__ = ["build_baseline", "build_challenger", "run_demo"]

USE_CASE = "churn"
_HOLDOUT_SHARE = 0.2


def build_baseline() -> Pipeline:
    """The champion a team starts with: a logistic regression on a handful of obvious signals."""
    columns = ColumnTransformer(
        [
            (
                "num",
                make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
                ["tenure", "monthly_charges"],
            ),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["contract"]),
        ]
    )
    return Pipeline([("columns", columns), ("model", LogisticRegression(max_iter=1000))])


def build_challenger() -> Pipeline:
    """The research team's challenger: gradient-boosted trees on every input."""
    columns = ColumnTransformer(
        [
            ("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), CATEGORICAL),
            ("rest", "passthrough", FLAGS + NUMERIC),
        ],
        verbose_feature_names_out=False,
    )
    model = HistGradientBoostingClassifier(
        max_iter=200,
        learning_rate=0.05,
        max_leaf_nodes=15,
        l2_regularization=1.0,
        categorical_features=list(range(len(CATEGORICAL))),
        random_state=0,
    )
    return Pipeline([("columns", columns), ("model", model)])


def run_demo(
    folder: Path, *, force: bool = False, console: Console | None = None, team_database: str | None = None
) -> Yard:
    """Build the demo yard in ``folder``: spec, production data, a champion in production and a
    challenger in shadow, both with full lineage. Returns the open yard.

    With ``team_database`` (a PostgreSQL URL) the yard runs as a team would run it: the registry
    lives in that database and the production data is a table there (``churn_customers``), which
    the spec's ``data.source`` names; otherwise a SQLite file and Parquet partitions in ``folder``.
    """
    console = console or Console()
    folder = folder.resolve()
    _prepare(folder, force)
    console.print(Panel.fit(f"Building a modelyard demo in [bold]{folder}[/]", border_style="cyan"))

    progress = Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=console
    )
    with progress:
        steps = progress.add_task("setting up", total=7)

        progress.update(steps, description="writing the use-case spec usecases/churn.yaml")
        (folder / "usecases").mkdir(parents=True, exist_ok=True)
        spec_text = resources.files("modelyard.demo").joinpath("assets/churn.yaml").read_text(encoding="utf-8")
        (folder / "usecases" / f"{USE_CASE}.yaml").write_text(spec_text, encoding="utf-8")
        progress.advance(steps)

        progress.update(steps, description="landing production data as monthly Parquet partitions")
        raw = load_raw_churn()
        data_dir = folder / "data"
        data_dir.mkdir(exist_ok=True)
        raw.to_parquet(data_dir / "customers.parquet", index=False)
        write_monthly_partitions(raw, data_dir / "churn")
        progress.advance(steps)

        yard = Yard(Settings(root=folder, database_url=team_database, artifacts=None, home=Path(".modelyard")))
        if team_database is not None:
            _move_data_to_team_database(yard, raw, team_database, folder / "usecases" / f"{USE_CASE}.yaml")
            # every later command run in (or with --root) the folder finds the team's registry
            (folder / ".env").write_text(f"{_ENV_HEADER}\nMODELYARD_DATABASE_URL={team_database}\n", encoding="utf-8")

        progress.update(steps, description="snapshotting production data through the feature code")
        snapshot = build_snapshot(yard, USE_CASE)
        frame = read_snapshot(yard, snapshot)
        train, recent = split_by_time(frame, "signup_date", fraction=1 - _HOLDOUT_SHARE)
        # the raw rows of exactly the recent customers, as requests arrive (the check's default data)
        raw[raw["customer_id"].isin(recent["customer_id"])].to_parquet(data_dir / "recent.parquet", index=False)
        inputs = list(yard.use_case(USE_CASE).input_names)
        x_train, y_train = train[inputs], train["churned"].to_numpy()
        x_recent, y_recent = recent[inputs], recent["churned"].to_numpy()
        progress.advance(steps)

        progress.update(steps, description="training and registering the baseline champion")
        baseline = build_baseline().fit(x_train, y_train)
        v1 = yard.register(
            USE_CASE,
            baseline,
            training_data=x_train,
            snapshot_id=snapshot.id,
            description="Logistic regression on tenure, monthly charges and contract",
            tags={"team": "retention", "kind": "baseline"},
            author="alice@retention",
            actor="alice@retention",  # the demo plays each person: she registers her own model
            code_folder=folder,
        )
        progress.advance(steps)

        progress.update(steps, description="promoting the baseline to production")
        yard.promote(
            USE_CASE,
            v1.version,
            reason="first production model: simple, explainable baseline",
            actor="bob@platform",
        )
        progress.advance(steps)

        progress.update(steps, description="training and registering the research challenger")
        challenger = build_challenger().fit(x_train, y_train)
        v2 = yard.register(
            USE_CASE,
            challenger,
            training_data=x_train,
            snapshot_id=snapshot.id,
            research_item="RI-1",
            description="Gradient-boosted trees on every input (research item RI-1)",
            tags={"team": "research", "kind": "challenger"},
            author="carol@research",
            actor="carol@research",  # the demo plays each person: she registers her own model
            code_folder=folder,
        )
        progress.advance(steps)

        progress.update(steps, description="sending the challenger to shadow traffic")
        yard.transition(
            USE_CASE,
            v2.version,
            "shadow",
            reason="score live traffic beside v1 before any decision",
            actor="bob@platform",
        )
        progress.advance(steps)

    _summary(console, yard, x_recent, y_recent)

    from modelyard.board import demo_stage as board_stage
    from modelyard.check import demo_stage as check_stage
    from modelyard.evaluate import demo_stage as evaluation_stage
    from modelyard.serve import demo_stage as serve_stage

    console.rule("[bold]Handoff check: will v2 work in production?")
    check_stage(yard, console)

    console.rule("[bold]Business evaluation: v2 against the production v1")
    evaluation_stage(yard, console)

    console.rule("[bold]Serving: v1 answers live traffic, v2 listens in shadow")
    serve_stage(yard, console)

    console.rule("[bold]Research board")
    board_stage(yard, console)
    _next_steps(console, yard)
    return yard


TEAM_TABLE = "churn_customers"


def _move_data_to_team_database(yard: Yard, raw: pd.DataFrame, url: str, spec_path: Path) -> None:
    """Load the customers into a table of the team database and point the spec's source at it."""
    if yard.models(USE_CASE):
        raise UsageError(
            f"The team database {yard.store.url} already holds versions of {USE_CASE}; "
            "use a fresh database (or schema) for the demo"
        )
    raw.to_sql(TEAM_TABLE, yard.store.engine, index=False, if_exists="replace", chunksize=2000)
    separator = "&" if "?" in url else "?"
    text = spec_path.read_text(encoding="utf-8")
    old = 'source: "data/churn/*.parquet"'
    if old not in text:
        raise UsageError(f"{spec_path} no longer has the line {old!r} to point at the team table")
    spec_path.write_text(text.replace(old, f'source: "{url}{separator}table={TEAM_TABLE}"'), encoding="utf-8")


_MADE_BY_DEMO = "made-by-demo"
"""A file in the yard folder of a yard the demo built: --force deletes only such a yard."""


_ENV_HEADER = "# written by 'modelyard demo --team-database': this yard's registry is in that database"


def _prepare(folder: Path, force: bool) -> None:
    home = folder / ".modelyard"
    if home.exists():
        if not force:
            raise UsageError(f"{folder} already holds a yard; pass --force to rebuild it, or name a new folder")
        if not (home / _MADE_BY_DEMO).exists():
            raise UsageError(
                f"{folder} holds a yard the demo did not build (or built before it marked its yards); --force "
                f"would delete its registry, data/ and usecases/. Name a new folder, or delete {home} yourself"
            )
        for part in (".modelyard", "data", "usecases"):
            shutil.rmtree(folder / part, ignore_errors=True)
        env = folder / ".env"
        if env.is_file() and env.read_text(encoding="utf-8", errors="replace").startswith(_ENV_HEADER):
            env.unlink()  # the team database of the yard being replaced
    home.mkdir(parents=True, exist_ok=True)
    (home / _MADE_BY_DEMO).write_text("modelyard demo: 'modelyard demo --force' may delete and rebuild this yard\n")


def _summary(console: Console, yard: Yard, x_recent: pd.DataFrame, y_recent: np.ndarray) -> None:
    from modelyard.cli._render import stage_changes_table, versions_table

    console.print(versions_table(yard.models(USE_CASE), title="Registered versions of churn", width=console.width))
    scores = Table(title="First look: newest 20% of customers by sign-up", title_justify="left")
    for col in ("version", "stage", "ROC AUC", "rows"):
        scores.add_column(col, justify="right" if col != "stage" else "left")
    for mv in yard.models(USE_CASE):
        loaded = yard.load(USE_CASE, mv.version)  # through the registry: checksum-verified
        auc = roc_auc_score(y_recent, loaded.score(x_recent))
        scores.add_row(f"v{mv.version}", mv.stage.value, f"{auc:.3f}", f"{len(x_recent):,}")
    console.print(scores)
    console.print(stage_changes_table(yard.history(USE_CASE), title="Audit trail", width=console.width))


_NEXT_STEPS = [
    ("modelyard usecase list", "use cases and what is live"),
    ("modelyard usecase validate usecases/churn.yaml", ""),
    ("modelyard models show churn 2", "lineage of the challenger"),
    ("modelyard check churn 2", "contract, latency, memory, soak, ONNX"),
    ("modelyard evaluate churn 2", "the verdict in money, with its reasons"),
    ("modelyard promote churn 2 --reason '...'", "refused unless an evaluation says PROMOTE"),
    ("  --force --why '...'", "...or overridden, on the record"),
    ("modelyard rollback churn --reason '...'", "and back again"),
    ("modelyard history churn", "the audit trail"),
    ("modelyard serve", "OIP v2, MLflow and /predict/churn on :8080"),
    ("modelyard board show", "research items and their models"),
    ("modelyard board radar", "what research lands in the next sprints"),
]


def _next_steps(console: Console, yard: Yard) -> None:
    # A grid, so that on a narrow terminal a comment wraps in its own column and every command stays
    # on one line, ready to copy.
    steps = Table.grid(padding=(0, 2))
    steps.add_column(no_wrap=True, overflow="fold")  # a root longer than the terminal folds, not cut
    steps.add_column(style="dim")
    steps.add_row(f"cd {yard.settings.root}", "")
    for command, what in _NEXT_STEPS:
        steps.add_row(command, f"# {what}" if what else "")
    console.print(Panel(steps, title="What next", border_style="green", expand=False))

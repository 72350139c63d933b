from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from modelyard import DataError, Yard
from modelyard.data import build_snapshot, read_snapshot, score_batch


def test_scoring_a_snapshot_and_the_raw_source_agree(yard: Yard, data_root: Path, make_model, tmp_path: Path) -> None:
    model = make_model(1.0)
    mv = yard.register("churn", model, threshold=0.3)
    snap = build_snapshot(yard, "churn", start=datetime(2024, 1, 1))
    ticks: list[int] = []
    a = score_batch(yard, "churn", mv.version, snap.id, tmp_path / "a.parquet", chunk_rows=250, progress=ticks.append)
    b = score_batch(yard, "churn", mv.version, "data/churn/2024-*.parquet", tmp_path / "b.parquet")
    from_snapshot, from_source = pd.read_parquet(a.out), pd.read_parquet(b.out)
    assert a.rows == b.rows == snap.row_count and sum(ticks) == a.rows and len(ticks) > 1
    np.testing.assert_array_equal(from_snapshot["score"], from_source["score"])
    frame = read_snapshot(yard, snap)
    expected = model.predict_proba(frame[list(yard.use_case("churn").input_names)])[:, 1]
    np.testing.assert_allclose(from_snapshot["score"], expected, rtol=0, atol=1e-12)
    assert (from_snapshot["decision"] == (from_snapshot["score"] >= 0.3)).all()
    assert list(from_snapshot.columns) == ["customer_id", "signup_date", "churned", "score", "decision", "version"]
    assert a.positives == int(from_snapshot["decision"].sum())


def test_a_failed_scoring_run_leaves_no_output(yard: Yard, data_root: Path, make_model, tmp_path: Path) -> None:
    yard.register("churn", make_model(1.0))
    out = tmp_path / "out" / "scores.parquet"
    with pytest.raises(DataError, match=r"--data .data/nothing/\*\.parquet. matches no files under "):
        score_batch(yard, "churn", 1, "data/nothing/*.parquet", out)
    assert not out.exists()
    assert not out.parent.exists() or list(out.parent.iterdir()) == []


def test_an_output_path_that_cannot_be_written_is_refused_before_scoring(
    yard: Yard, data_root: Path, make_model, tmp_path: Path
) -> None:
    from modelyard import UsageError

    yard.register("churn", make_model(1.0))
    where = tmp_path / "out"
    folder = where / "scores"
    folder.mkdir(parents=True)
    with pytest.raises(UsageError, match=r"--out .*scores is a folder; name the file to write, e\.g\. "):
        score_batch(yard, "churn", 1, "data/churn/2024-*.parquet", folder)
    a_file = where / "a-file"
    a_file.write_text("not a folder")
    with pytest.raises(UsageError, match=r"Cannot write --out .*a-file/scores\.parquet: .*choose a folder"):
        score_batch(yard, "churn", 1, "data/churn/2024-*.parquet", a_file / "scores.parquet")
    assert sorted(p.name for p in where.iterdir()) == ["a-file", "scores"] and not any(folder.iterdir())


def test_an_output_that_would_destroy_data_is_refused(yard: Yard, data_root: Path, make_model, tmp_path: Path) -> None:
    from modelyard import UsageError

    yard.register("churn", make_model(1.0))
    part = data_root / "data" / "churn" / "2024-01.parquet"
    before = part.read_bytes()
    with pytest.raises(UsageError, match=r"--out .*2024-01\.parquet is one of the files being scored \(--data\)"):
        score_batch(yard, "churn", 1, "data/churn/2024-*.parquet", part)
    assert part.read_bytes() == before
    snap = build_snapshot(yard, "churn", start=datetime(2024, 1, 1))
    with pytest.raises(UsageError, match=r"inside the yard's own folder .* \(snapshots, artifacts, the registry\)"):
        score_batch(yard, "churn", 1, snap.id, snap.path)
    fifo = tmp_path / "a-pipe"
    os.mkfifo(fifo)
    with pytest.raises(UsageError, match=r"--out .*a-pipe exists and is not a regular file"):
        score_batch(yard, "churn", 1, snap.id, fifo)
    assert fifo.is_fifo()
    earlier = tmp_path / "scores.parquet"
    earlier.write_bytes(b"yesterday's scores")
    assert score_batch(yard, "churn", 1, snap.id, earlier).rows == snap.row_count  # a regular file is replaced
    assert len(pd.read_parquet(earlier)) == snap.row_count


def test_a_snapshot_whose_file_is_gone_or_broken_is_named(
    yard: Yard, data_root: Path, make_model, tmp_path: Path
) -> None:
    from modelyard import NotFoundError

    yard.register("churn", make_model(1.0))
    snap = build_snapshot(yard, "churn", start=datetime(2024, 1, 1))
    data = Path(snap.path)
    data.write_bytes(b"")
    with pytest.raises(DataError, match=rf"Snapshot {snap.short_id}'s data file .* cannot be read .*; rebuild"):
        score_batch(yard, "churn", 1, snap.id, tmp_path / "a.parquet")
    data.unlink()
    with pytest.raises(NotFoundError, match=rf"Snapshot {snap.short_id}'s data file .* is missing; rebuild"):
        score_batch(yard, "churn", 1, snap.id, tmp_path / "a.parquet")
    assert not (tmp_path / "a.parquet").exists()


def test_a_short_hex_id_is_taken_for_a_snapshot_id(yard: Yard, data_root: Path, make_model, tmp_path: Path) -> None:
    from modelyard import UsageError

    yard.register("churn", make_model(1.0))
    with pytest.raises(UsageError, match="Snapshot id '2c5a7' is too short; give at least 6 characters"):
        score_batch(yard, "churn", 1, "2c5a7", tmp_path / "a.parquet")


def test_failures_while_scoring_name_the_partition(
    yard: Yard, data_root: Path, make_model, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    yard.register("churn", make_model(1.0))
    for part in sorted((data_root / "data" / "churn").glob("*.parquet")):  # tenure as text everywhere
        frame = pd.read_parquet(part)
        frame["tenure"] = frame["tenure"].astype(str)
        if part.name == "2024-02.parquet":
            frame.loc[3, "tenure"] = "twelve"
        frame.to_parquet(part, index=False)
    with pytest.raises(DataError, match=r"failed on partition data/churn/2024-02\.parquet, row 3 \(customer_id="):
        score_batch(yard, "churn", 1, "data/churn/2024-*.parquet", tmp_path / "a.parquet")

    snap = build_snapshot(yard, "churn", start=datetime(2024, 3, 1))
    loaded = yard.load("churn", 1)

    def refuses(frame: pd.DataFrame) -> None:
        raise ValueError("Cannot use median strategy with non-numeric data")

    monkeypatch.setattr(loaded, "score", refuses)
    monkeypatch.setattr(type(yard), "load", lambda self, use_case, version: loaded)
    with pytest.raises(DataError, match=rf"v1 of churn failed to score snapshot {snap.short_id}: ValueError: Cannot"):
        score_batch(yard, "churn", 1, snap.id, tmp_path / "b.parquet")
    assert not (tmp_path / "a.parquet").exists() and not (tmp_path / "b.parquet").exists()


def test_an_output_over_a_spec_a_source_file_or_the_yard_home_is_refused(
    yard: Yard, data_root: Path, make_model, tmp_path: Path
) -> None:
    from modelyard import UsageError

    yard.register("churn", make_model(1.0))
    snap = build_snapshot(yard, "churn", start=datetime(2024, 12, 1))
    spec = data_root / "usecases" / "churn.yaml"
    part = data_root / "data" / "churn" / "2024-12.parquet"
    before = {path: path.read_bytes() for path in (spec, part)}
    home = yard.settings.resolved_home().resolve()
    specs = yard.settings.resolved_usecases().resolve()
    refused = {
        spec: f"--out {spec} is a use-case spec in {specs}; write the scores elsewhere, e.g. churn-scores.parquet",
        specs / "other.YML": f"--out {specs / 'other.YML'} is a use-case spec in {specs}; write the scores "
        "elsewhere, e.g. other-scores.parquet",
        part: f"--out {part} is a file of churn's data source (data.source 'data/churn/*.parquet'); "
        "write the scores elsewhere",
        home / "scores.parquet": f"--out {home / 'scores.parquet'} is inside the yard's own folder {home} "
        "(snapshots, artifacts, the registry); write the scores elsewhere",
    }
    for out, message in refused.items():
        for data in (snap.id, "data/churn/2024-01.parquet"):
            with pytest.raises(UsageError) as caught:
                score_batch(yard, "churn", 1, data, out)
            assert caught.value.message == message
    assert {path: path.read_bytes() for path in before} == before and not (specs / "other.YML").exists()
    assert not (home / "scores.parquet").exists()


def test_an_output_under_a_quoted_tilde_is_written_in_the_home_folder(
    yard: Yard, data_root: Path, make_model, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    yard.register("churn", make_model(1.0))
    snap = build_snapshot(yard, "churn", start=datetime(2024, 12, 1))
    user_home, here = tmp_path / "user-home", tmp_path / "cwd"
    user_home.mkdir()
    here.mkdir()
    monkeypatch.setenv("HOME", str(user_home))
    monkeypatch.chdir(here)
    summary = score_batch(yard, "churn", 1, snap.id, "~/scores/x.parquet")
    assert summary.out == str(user_home / "scores" / "x.parquet") and summary.rows == snap.row_count
    assert len(pd.read_parquet(summary.out)) == snap.row_count
    assert list(here.iterdir()) == [] and [p.name for p in (user_home / "scores").iterdir()] == ["x.parquet"]


def test_data_given_as_a_path_or_a_snapshot_is_scored(yard: Yard, data_root: Path, make_model, tmp_path: Path) -> None:
    from modelyard import UsageError

    yard.register("churn", make_model(1.0))
    snap = build_snapshot(yard, "churn", start=datetime(2024, 12, 1))
    by_snapshot = score_batch(yard, "churn", 1, snap, tmp_path / "a.parquet")
    by_path = score_batch(yard, "churn", 1, data_root / "data" / "churn" / "2024-12.parquet", tmp_path / "b.parquet")
    a, b = pd.read_parquet(by_snapshot.out), pd.read_parquet(by_path.out)
    assert by_snapshot.rows == by_path.rows == snap.row_count
    assert a["customer_id"].tolist() == b["customer_id"].tolist() and a["score"].tolist() == b["score"].tolist()
    for data in (42, None, ""):
        with pytest.raises(UsageError) as caught:
            score_batch(yard, "churn", 1, data, tmp_path / "c.parquet")  # type: ignore[arg-type]
        assert caught.value.message == (
            "The 'data' parameter must be a snapshot id or Snapshot, a path or glob of raw rows, or 'source' "
            f"(the spec's data.source). Got {data!r} instead."
        )
    with pytest.raises(UsageError) as caught:
        score_batch(yard, "churn", 1, snap, None)  # type: ignore[arg-type]
    assert caught.value.message == "--out must name a file to write, e.g. scores.parquet. Got None instead."
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".parquet") == ["a.parquet", "b.parquet"]


def test_feature_rows_in_another_order_are_scored_with_their_own_keys(
    yard: Yard, data_root: Path, make_model, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    yard.register("churn", make_model(1.0))
    expected = pd.read_parquet(score_batch(yard, "churn", 1, "data/churn/2024-*.parquet", tmp_path / "a.parquet").out)
    module = tmp_path / "feat_reversed_scores.py"
    module.write_text(
        "from modelyard.demo.features import churn_features\n\n\n"
        "def features(raw):\n    return churn_features(raw).iloc[::-1]\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = data_root / "usecases" / "churn.yaml"
    spec.write_text(
        spec.read_text(encoding="utf-8").replace(
            "modelyard.demo.features:churn_features", "feat_reversed_scores:features"
        ),
        encoding="utf-8",
    )
    got = pd.read_parquet(score_batch(yard, "churn", 1, "data/churn/2024-*.parquet", tmp_path / "b.parquet").out)
    pd.testing.assert_frame_equal(got, expected)


def test_the_cli_refuses_a_spec_as_output_and_a_range_without_a_time_column(
    yard: Yard, data_root: Path, make_model
) -> None:
    from typer.testing import CliRunner

    from modelyard.cli import app

    yard.register("churn", make_model(1.0))
    spec = data_root / "usecases" / "churn.yaml"
    text = spec.read_text(encoding="utf-8")
    root = ["--root", str(data_root)]
    env = {"COLUMNS": "300", "MODELYARD_DATABASE_URL": yard.settings.resolved_database_url()}
    args = [*root, "score", "churn", "1", "--data", "data/churn/2024-12.parquet", "--out", str(spec)]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 2 and result.stderr == (
        f"error: --out {spec} is a use-case spec in {spec.parent.resolve()}; write the scores elsewhere, "
        "e.g. churn-scores.parquet\n"
    )
    assert spec.read_text(encoding="utf-8") == text
    spec.write_text(text.replace("  time: signup_date ", "  # no data.time "), encoding="utf-8")
    result = CliRunner().invoke(app, [*root, "snapshot", "churn", "--from", "2024-06-01"], env=env)
    assert result.exit_code == 2 and result.stderr == (
        "error: --from/--to (start/end) need data.time in the spec of churn, the column that dates each row; "
        "add data.time to the spec, or leave --from/--to out to snapshot every row\n"
    )

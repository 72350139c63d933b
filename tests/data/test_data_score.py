from __future__ import annotations

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

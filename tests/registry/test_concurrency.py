"""Two processes promote different versions at the same moment: the database keeps one production."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

from modelyard import Stage, Yard
from support_code import promote_in_process


def test_two_processes_promoting_at_once_leave_exactly_one_production(
    yard: Yard, yard_root: Path, store_url: str, make_model
) -> None:
    ctx = mp.get_context("spawn")
    rounds = 3
    for r in range(rounds):
        a, b = (yard.register("churn", make_model(0.01 + r * 0.1 + k * 0.05)).version for k in range(2))
        barrier, results = ctx.Barrier(2), ctx.Queue()
        procs = [
            ctx.Process(target=promote_in_process, args=(str(yard_root), store_url, v, barrier, results))
            for v in (a, b)
        ]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
            assert p.exitcode == 0
        outcomes = dict(results.get(timeout=5) for _ in procs)
        assert outcomes == {a: "ok", b: "ok"}

        versions = yard.models("churn")
        assert sum(v.stage == Stage.PRODUCTION for v in versions) == 1
        promoted = [c for c in yard.history("churn") if c.to_stage == Stage.PRODUCTION and c.version in (a, b)]
        assert sorted(c.version for c in promoted) == [a, b]
        # The later of the two replaced the earlier one, which is archived in the same trail.
        winner = max(promoted, key=lambda c: c.id)
        loser = min(promoted, key=lambda c: c.id)
        assert winner.replaced_version == loser.version
        assert yard.model("churn", loser.version).stage == Stage.ARCHIVED

"""Deployments follow the registry, on SQLite and on PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from modelyard._exceptions import NotFoundError
from modelyard.serve._deployments import Deployments


def test_refresh_follows_stage_changes_and_reuses_loaded_models(yard: Any, make_model: Any) -> None:
    retired: list[tuple[int, str]] = []
    deployments = Deployments(yard, retire=lambda s: retired.append((s.version, s.role)))
    assert deployments.refresh() == []
    with pytest.raises(NotFoundError, match="Use case 'churn' is not served here; served use cases: none"):
        deployments.get("churn")

    v1 = yard.register("churn", make_model(1.0))
    yard.promote("churn", v1.version, reason="first")
    v2 = yard.register("churn", make_model(0.3))
    yard.transition("churn", v2.version, "shadow", reason="listen")
    assert deployments.refresh() == ["churn"]
    d = deployments.get("churn")
    assert (d.production.version, [s.version for s in d.shadows]) == (1, [2])
    shadow_model = d.shadows[0].model
    assert deployments.refresh() == []  # nothing changed: nothing rebuilt

    yard.registry.promote("churn", v2.version, reason="wins")  # the registry: no evaluation policy
    assert deployments.refresh() == ["churn"]
    d = deployments.get("churn")
    assert d.production.version == 2 and d.shadows == ()
    assert d.production.model is shadow_model  # promoted without loading again
    assert sorted(retired) == [(1, "production"), (2, "shadow")]
    with pytest.raises(NotFoundError, match="Version 1 of use case 'churn' is not deployed; deployed: v2"):
        d.slot(1)

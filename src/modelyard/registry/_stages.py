"""The stage machine: which moves are allowed, and why not when they are not."""

from __future__ import annotations

from modelyard._exceptions import IllegalStageChangeError, UsageError
from modelyard.store import Stage

__all__ = ["ALLOWED_MOVES", "check_move", "parse_stage"]

# Production is left only by being replaced (→ archived, in the same transaction) or by a
# rollback; retired is terminal.
ALLOWED_MOVES: dict[Stage, frozenset[Stage]] = {
    Stage.CANDIDATE: frozenset({Stage.SHADOW, Stage.CANARY, Stage.PRODUCTION, Stage.RETIRED}),
    Stage.SHADOW: frozenset({Stage.CANDIDATE, Stage.CANARY, Stage.PRODUCTION, Stage.RETIRED}),
    Stage.CANARY: frozenset({Stage.CANDIDATE, Stage.SHADOW, Stage.PRODUCTION, Stage.RETIRED}),
    Stage.PRODUCTION: frozenset(),
    Stage.ARCHIVED: frozenset({Stage.PRODUCTION, Stage.RETIRED}),
    Stage.RETIRED: frozenset(),
}


def parse_stage(value: str | Stage) -> Stage:
    """A stage from its name; the error lists the stages there are."""
    if isinstance(value, Stage):
        return value
    if not isinstance(value, str):
        names = ", ".join(s.value for s in Stage)
        raise UsageError(f"The 'stage' parameter must be a stage name ({names}). Got {value!r} instead.")
    try:
        return Stage(value.strip().lower())
    except ValueError:
        names = ", ".join(s.value for s in Stage)
        raise UsageError(f"'{value}' is not a stage; use one of {names}") from None


def check_move(ref: str, current: Stage, target: Stage) -> None:
    """Raise :class:`IllegalStageChangeError` unless ``current → target`` is allowed."""
    if current == target:
        raise IllegalStageChangeError(f"{ref} is already in stage {target.value}; nothing to change")
    if target in ALLOWED_MOVES[current]:
        return
    if current == Stage.RETIRED:
        raise IllegalStageChangeError(
            f"{ref} is retired, which is final; a retrained or changed model can come back as a new version "
            "(the same artifact cannot be registered twice)"
        )
    if current == Stage.PRODUCTION:
        raise IllegalStageChangeError(
            f"{ref} is in production and leaves it only when replaced; promote another version, "
            "or run 'modelyard rollback' to bring back the previous one"
        )
    if target == Stage.ARCHIVED:
        raise IllegalStageChangeError(
            f"{ref} cannot be archived from {current.value}: archived is for replaced production "
            "versions; use retired to withdraw it"
        )
    allowed = ", ".join(sorted(s.value for s in ALLOWED_MOVES[current]))
    raise IllegalStageChangeError(
        f"{ref} cannot move from {current.value} to {target.value}; from {current.value} it can go to {allowed}"
    )

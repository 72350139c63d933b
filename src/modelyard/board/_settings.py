"""The board's settings, read from ``MODELYARD_BOARD_*`` environment variables and ``.env``."""

from __future__ import annotations

from datetime import date
from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["SPRINT_DAYS_MAX", "BoardSettings"]

#: The longest sprint, in days, a setting or ``--sprint-length`` may give.
SPRINT_DAYS_MAX = 90


class BoardSettings(BaseSettings):
    """The portfolio policy and the sprint calendar. Every field can be set as ``MODELYARD_BOARD_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="MODELYARD_BOARD_", env_file=".env", extra="ignore")

    risky_min: float = Field(default=0.2, ge=0, le=1, description="Least share of risky items an owner or team keeps.")
    risky_max: float = Field(
        default=0.4, ge=0, le=1, description="Largest share of risky items an owner or team keeps."
    )
    sprint_length_days: int = Field(
        default=14, ge=1, le=SPRINT_DAYS_MAX, description="Length of an engineering sprint in days."
    )
    sprint_start: date = Field(
        default=date(2026, 1, 5), description="First day of any sprint (a Monday); sprints are counted from it."
    )

    @model_validator(mode="after")
    def _check_policy(self) -> Self:
        if self.risky_min > self.risky_max:
            raise ValueError(
                f"risky_min ({self.risky_min}) must not exceed risky_max ({self.risky_max}); "
                "set MODELYARD_BOARD_RISKY_MIN below MODELYARD_BOARD_RISKY_MAX"
            )
        return self

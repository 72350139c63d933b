"""The server's settings, read from ``MODELYARD_SERVE_*`` environment variables and ``.env``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ServeSettings"]


class ServeSettings(BaseSettings):
    """How the model server batches, routes, logs and protects itself.

    Every field can be set as ``MODELYARD_SERVE_<FIELD>`` (``MODELYARD_SERVE_CANARY_FRACTION=0.1``).
    """

    model_config = SettingsConfigDict(env_prefix="MODELYARD_SERVE_", env_file=".env", extra="ignore")

    canary_fraction: float = Field(
        default=0.1,
        ge=0,
        le=1,
        description=(
            "Share of requests the canary version answers (sticky by entity key), for use cases whose "
            "split was never set through PUT /admin/traffic/{use_case}."
        ),
    )
    max_batch_size: int = Field(default=64, ge=1, description="Most rows scored in one model call.")
    max_wait_ms: float = Field(
        default=1.0,
        ge=0,
        description=(
            "Longest a request waits for others to share its batch: only under load, when the last "
            "batch and the requests queued behind it outnumber those waiting now."
        ),
    )
    shadow_max_wait_ms: float = Field(
        default=50.0,
        ge=0,
        description=(
            "Longest a shadow's request waits for others to fill its batch (max_batch_size rows). Shadows "
            "share the server's process with the versions that answer; one call for many requests keeps "
            "their share small. 0: shadows batch like the versions that answer (max_wait_ms, adaptive)."
        ),
    )
    inline_max_ms: float = Field(
        default=5.0,
        ge=0,
        description=(
            "In light traffic (nobody queued or expected), score a lone request on the event loop itself "
            "instead of the scoring thread, when a request of its size last took at most this long; "
            "saves two thread hand-offs per request. 0 turns it off. Shadows always use their thread."
        ),
    )
    queue_limit: int = Field(
        default=512, ge=1, description="Requests waiting per deployed version; beyond it the server answers 503."
    )
    retry_after_s: int = Field(default=1, ge=1, description="The Retry-After header sent with a 503.")
    max_body_bytes: int = Field(default=5_000_000, ge=1, description="Largest request body accepted (HTTP 413).")
    extra_fields: Literal["reject", "ignore"] = Field(
        default="reject",
        description=(
            "What to do with request fields the spec does not know (inputs, data.extra_columns, entity key, "
            "time and label columns): reject them with a 400, or ignore them."
        ),
    )
    default_use_case: str | None = Field(
        default=None, description="The use case /invocations scores; needed only when the yard has several."
    )
    log_folder: Path | None = Field(
        default=None,
        description=(
            "Folder of the Parquet prediction log (with a database log: of the rows it spills); "
            "<home>/predictions when unset."
        ),
    )
    log_enabled: bool = Field(default=True, description="Write every prediction to the prediction log.")
    log_target: Literal["auto", "parquet", "database"] = Field(
        default="auto",
        description=(
            "Where the prediction log goes: Parquet files in log_folder, or the predictions table of the "
            "yard's database; auto picks the database when it is PostgreSQL (team mode), Parquet otherwise."
        ),
    )
    log_queue_rows: int = Field(
        default=1_000_000,
        ge=1,
        description=(
            "Most log rows held in memory while the log target is unreachable; older rows are written to "
            "Parquet files in log_folder (database target) or dropped and counted (Parquet target)."
        ),
    )
    log_queue_seconds: float = Field(
        default=10.0,
        gt=0,
        description=(
            "Once the log target has been unreachable this long, waiting rows go to the fallback (Parquet "
            "files in log_folder) at every retry instead of waiting in memory: what a crash in an outage can cost."
        ),
    )
    log_flush_rows: int = Field(default=10_000, ge=1, description="Write a log file once this many rows wait.")
    log_flush_seconds: float = Field(default=2.0, gt=0, description="Write waiting log rows at least this often.")
    poll_seconds: float = Field(default=1.0, gt=0, description="How often the registry is read for stage changes.")
    gc_freeze: bool = Field(default=True, description="gc.collect() then gc.freeze() after models are loaded.")
    workers: int = Field(default=1, ge=1, description="Server processes (set by `modelyard serve --workers`).")
    threads_per_worker: int = Field(
        default=1,
        ge=1,
        description=(
            "Native (OpenMP/BLAS) threads per worker; keep workers x threads <= cores. One is fastest for "
            "micro-batches: fanning a 64-row batch out to threads costs more than it saves."
        ),
    )
    trust: bool = Field(default=False, description="Allow loading pickled models (they can run code).")
    admin_token: SecretStr | None = Field(
        default=None, description="Bearer token for admin endpoints (reload, traffic split); they are off when unset."
    )

"""The admin endpoints: read the registry now, and read or set each use case's canary traffic split.

Every one needs ``Authorization: Bearer <token>`` with the token of ``MODELYARD_SERVE_ADMIN_TOKEN``;
with no token set they are off. A split is stored in the registry database (append-only, with who
and why), so every worker and replica applies it at its next poll and it survives restarts.
"""

from __future__ import annotations

import asyncio
import hmac
import math
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request

from modelyard.registry._registry import REASON_MAX
from modelyard.serve._errors import AdminAuthError, BadRequestError
from modelyard.serve._openapi import ADMIN_RELOAD_RESPONSES, ADMIN_SET_TRAFFIC_RESPONSES, ADMIN_TRAFFIC_RESPONSES
from modelyard.serve._protocols import PLAIN, decode_json, json_kind
from modelyard.serve._request_body import ADMIN_BODY_BYTES, read_body
from modelyard.serve._routing import TrafficSplit
from modelyard.serve._service import ModelService
from modelyard.serve._settings import ServeSettings
from modelyard.serve._validate import shown_as_json

__all__ = ["add_admin_routes", "parse_split", "require_admin"]

Guard = Callable[[str, Callable[[], Awaitable[Any]]], Awaitable[Any]]

_FIELDS = {"canary_fraction", "reason", "actor"}
_ACTOR_MAX = 128  # traffic_splits.actor
_SPLIT_BODY = {
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {
                    "canary_fraction": {"type": "number", "minimum": 0, "maximum": 1},
                    "reason": {
                        "type": "string",
                        "maxLength": REASON_MAX,
                        "description": "Why; kept in the audit trail.",
                    },
                    "actor": {
                        "type": "string",
                        "maxLength": _ACTOR_MAX,
                        "description": "Who; kept in the audit trail.",
                    },
                },
                "required": ["canary_fraction"],
                "additionalProperties": False,
            },
            "example": {"canary_fraction": 0.25, "reason": "v2 looks good on 10%", "actor": "ana"},
        }
    },
    "required": True,
}


def require_admin(settings: ServeSettings, request: Request) -> None:
    """Refuse the request unless it carries the admin token (compared in constant time)."""
    token = settings.admin_token
    if token is None:
        raise AdminAuthError("Admin endpoints are off; set MODELYARD_SERVE_ADMIN_TOKEN to turn them on")
    scheme, _, given = request.headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.get_secret_value().encode()):
        raise AdminAuthError("Missing or wrong admin token; send Authorization: Bearer <token>")


def parse_split(body: bytes) -> tuple[float, str | None, str | None]:
    """``(canary_fraction, reason, actor)`` from a ``PUT /admin/traffic/{use_case}`` body."""
    data = decode_json(body)
    example = 'send {"canary_fraction": 0.25}'
    if not isinstance(data, dict):
        raise BadRequestError(f"The body must be a JSON object. Got {json_kind(data)} instead; {example}")
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise BadRequestError(
            f"Unknown field {unknown[0]!r}; the body takes canary_fraction, and optionally reason and actor"
        )
    if "canary_fraction" not in data:
        raise BadRequestError(f"Field 'canary_fraction' is missing; {example}")
    fraction = data["canary_fraction"]
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not math.isfinite(fraction):
        raise BadRequestError(
            f"Field 'canary_fraction' must be a number in [0, 1]. Got {shown_as_json(fraction)} instead; {example}"
        )
    if not 0 <= fraction <= 1:
        raise BadRequestError(
            f"Field 'canary_fraction' must be in [0, 1]. Got {shown_as_json(fraction)} instead; {example}"
        )
    for name in ("reason", "actor"):
        value = data.get(name)
        if value is not None and not isinstance(value, str):
            raise BadRequestError(
                f"Field {name!r} must be a string. Got {shown_as_json(value)} instead; send text in quotes"
            )
        if value is not None and "\x00" in value:  # PostgreSQL text cannot hold it
            raise BadRequestError(
                f"Field {name!r} must not contain NUL characters. Got {shown_as_json(value)} instead; send plain text"
            )
    for name, most, what in (("actor", _ACTOR_MAX, "name"), ("reason", REASON_MAX, "reason")):
        value = data.get(name)
        if value is not None and len(value) > most:
            raise BadRequestError(
                f"Field {name!r} must be at most {most:,} characters. Got {len(value):,} instead; send a shorter {what}"
            )
    return float(fraction), data.get("reason"), data.get("actor")


def _split_view(service: ModelService, name: str) -> dict[str, Any]:
    deployments = service.deployments
    deployment = deployments.get(name)
    split: TrafficSplit | None = deployments.splits.get(name)
    canary = deployment.canary.version if deployment.canary else None
    view: dict[str, Any] = {"use_case": name, "canary_version": canary, "canary_fraction": deployment.canary_fraction}
    if split is None:
        return {**view, "source": "default"}
    if not split.applies_to(canary):
        return {
            **view,
            "source": "default",
            "note": f"the split set for v{split.canary_version} does not carry over to "
            f"{f'v{canary}' if canary is not None else 'no canary'}; set one for it",
        }
    return {**view, "source": "set", **split.to_dict()}


def add_admin_routes(app: FastAPI, service: ModelService, guarded: Guard) -> None:
    """Add ``/admin/reload`` and ``/admin/traffic`` to ``app``; ``guarded`` turns errors into responses."""
    settings = service.settings

    @app.post("/admin/reload", tags=["operations"], responses=ADMIN_RELOAD_RESPONSES)
    async def reload(request: Request) -> Any:
        """Read the registry now instead of at the next poll. Needs ``Authorization: Bearer <token>``."""

        async def work() -> Any:
            require_admin(settings, request)
            changed = await asyncio.to_thread(service.refresh)
            return {"changed": changed, **service.status()}

        return await guarded(PLAIN, work)

    @app.get("/admin/traffic", tags=["operations"], responses=ADMIN_TRAFFIC_RESPONSES)
    async def traffic(request: Request) -> Any:
        """The canary's share of traffic per use case (set, or the server default). Needs the admin token."""

        async def work() -> Any:
            require_admin(settings, request)
            return {
                "default_canary_fraction": settings.canary_fraction,
                "use_cases": [_split_view(service, name) for name in service.deployments.names()],
            }

        return await guarded(PLAIN, work)

    @app.put(
        "/admin/traffic/{use_case}",
        tags=["operations"],
        responses=ADMIN_SET_TRAFFIC_RESPONSES,
        openapi_extra={"requestBody": _SPLIT_BODY},
    )
    async def set_traffic(use_case: str, request: Request) -> Any:
        """Give the canary of a use case a share of traffic, sticky by entity key, on every replica within
        ``poll_seconds``. Recorded with ``actor`` and ``reason``. Needs the admin token."""

        async def work() -> Any:
            require_admin(settings, request)
            service.deployments.get(use_case)  # 404 before reading the body
            fraction, reason, actor = parse_split(await read_body(request, ADMIN_BODY_BYTES))
            host = request.client.host if request.client else "unknown"
            split = await asyncio.to_thread(
                service.deployments.set_split,
                use_case,
                fraction,
                actor=actor or f"admin API ({host})",
                reason=reason or "set through PUT /admin/traffic",
            )
            view = _split_view(service, use_case)
            if split.canary_version is None:
                view["note"] = (
                    f"No canary is deployed for {use_case!r}; the fraction is stored and applies once a version "
                    "is moved to the canary stage"
                )
            return view

        return await guarded(PLAIN, work)

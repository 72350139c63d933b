"""The server's own failures, as members of modelyard's one exception tree::

ModelyardError
├── UsageError (400)
│   ├── DataError                 a request breaks the spec (names the field, value and fix)
│   ├── BadRequestError           malformed body: not JSON, wrong shape, unknown protocol field
│   │   ├── PayloadTooLargeError  (413) the body is over ``max_body_bytes``
│   │   ├── UnsupportedMediaTypeError (415) a compressed body, or a content type the route does not read
│   │   └── ClientGoneError       (499) the client hung up before sending the whole body
│   └── AdminAuthError (401)      an admin endpoint without the right token; carries WWW-Authenticate
├── NotFoundError (404)           unknown use case, version or route
├── OverloadedError (503)         the queue is full; carries ``retry_after``
└── NoProductionError (503)       the use case has no production version yet
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

from modelyard._exceptions import ModelyardError, UsageError

__all__ = [
    "AdminAuthError",
    "BadRequestError",
    "ClientGoneError",
    "NoProductionError",
    "OverloadedError",
    "PayloadTooLargeError",
    "UnsupportedMediaTypeError",
]


class BadRequestError(UsageError):
    """The body cannot be read as the protocol asks: not JSON, or not the expected shape."""


class PayloadTooLargeError(BadRequestError):
    """The request body is larger than the server accepts."""

    http_status = 413


class UnsupportedMediaTypeError(BadRequestError):
    """The body is compressed, or of a media type the route does not read."""

    http_status = 415


class ClientGoneError(BadRequestError):
    """The client closed the connection before the whole body arrived: no one is left to answer.

    499 is nginx's "client closed request": the status is never sent (the connection is gone)."""

    http_status = 499


class AdminAuthError(UsageError):
    """An admin endpoint was called without the right token."""

    http_status = 401
    headers: ClassVar[Mapping[str, str]] = MappingProxyType({"WWW-Authenticate": 'Bearer realm="modelyard admin"'})


class OverloadedError(ModelyardError):
    """Every slot of the queue is taken: come back after ``retry_after`` seconds."""

    http_status = 503

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NoProductionError(ModelyardError):
    """A use case is served but has no production version yet."""

    http_status = 503

    def __init__(self, use_case: str) -> None:
        super().__init__(
            f"Use case {use_case!r} has no production version; promote one "
            f"(modelyard promote {use_case} <version>) and the server picks it up within seconds"
        )
        self.retry_after = 1

"""Reading a request's body: within the size limit, uncompressed, and quietly when the client leaves."""

from __future__ import annotations

from starlette.requests import ClientDisconnect, Request

from modelyard.serve._errors import ClientGoneError, PayloadTooLargeError, UnsupportedMediaTypeError

__all__ = ["ADMIN_BODY_BYTES", "read_body"]

ADMIN_BODY_BYTES = 64 << 10
"""The body limit of the admin endpoints (a traffic split is a few fields)."""


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused with a 413 beyond ``limit`` bytes (before reading it when Content-Length
    says so), with a 415 when it is compressed, and with :class:`ClientGoneError` when the client
    hangs up before sending all of it (nobody is left to answer; the server logs no traceback)."""
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", ""):
        raise UnsupportedMediaTypeError(
            f"Content-Encoding {encoding!r} is not supported; send the body uncompressed (UTF-8 JSON) "
            "and drop the Content-Encoding header"
        )
    declared = request.headers.get("content-length")
    too_big = PayloadTooLargeError(f"The request body is over the {limit:,}-byte limit; send fewer rows per request")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_big
    chunks = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_big
            chunks.append(chunk)
    except ClientDisconnect:
        raise ClientGoneError(f"The client closed the connection after {size:,} bytes of the body") from None
    return b"".join(chunks)

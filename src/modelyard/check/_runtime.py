"""The production runtime, as the server sets it up: native thread pools pinned, the heap frozen after load."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

from threadpoolctl import threadpool_limits

__all__ = ["NATIVE_THREADS", "production_runtime"]

NATIVE_THREADS = 1
"""OpenMP/BLAS threads per worker while measuring: what one server worker gets on a shared machine."""


@contextlib.contextmanager
def production_runtime(threads: int = NATIVE_THREADS) -> Iterator[None]:
    """Pin native thread pools to ``threads`` and freeze what is loaded so far out of the GC's way.

    Like the server after loading a model: ``gc.collect(); gc.freeze()``. On exit the heap is
    unfrozen and the thread limits restored, so the caller's process is left as it was.
    """
    with threadpool_limits(limits=threads):
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()

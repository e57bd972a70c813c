"""Give memory back to the system after a big request.

A large body (a 50 MB FeatureCollection) is parsed into many Python objects and arrays. Freed, most of that memory
stays in the C allocator's free lists (glibc keeps freed heap pages, and every worker thread has its own arena), so
the process would keep its peak size for good: measured, one 50 MB body left ~600 MB more resident. After each
request whose body was bigger than the spooling threshold, `MemoryGuard` asks glibc to return its free pages
(`malloc_trim(0)`, a few milliseconds, off the event loop and after the response is sent). Elsewhere (not glibc)
it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from collections.abc import Callable

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("lapis")


def _malloc_trim() -> Callable[[], object] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
    trim.argtypes = [ctypes.c_size_t]
    return lambda: trim(0)


MALLOC_TRIM = _malloc_trim()


def release_memory() -> None:
    """Hand the allocator's free pages back to the system. (Not gc.collect(): a full collection holds the GIL, so the
    event loop, for tens of milliseconds; what a request frees goes by reference counting anyway.) ctypes releases
    the GIL during the call."""
    if MALLOC_TRIM is not None:
        MALLOC_TRIM()


class MemoryGuard:
    """Counts each request's body; after a request with more than `threshold` bytes, `release_memory` in a thread
    (one at a time: a request finishing while a release runs needs none of its own)."""

    def __init__(self, app: ASGIApp, threshold: int) -> None:
        self.app = app
        self.threshold = threshold
        self.releasing = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
            return message

        try:
            await self.app(scope, counting_receive, send)
        finally:
            if received > self.threshold and not self.releasing:
                self.releasing = True
                try:
                    with anyio.CancelScope(shield=True):
                        await anyio.to_thread.run_sync(release_memory)
                finally:
                    self.releasing = False

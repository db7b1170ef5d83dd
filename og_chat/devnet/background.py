"""The gateway's fire-and-forget work (settling a session, confirming a settlement, a batch post).

Kept in one set so nothing is garbage-collected mid-flight and `close()` can wait for
all of it before the chain stops.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


class Background:
    """Tasks started on the gateway's loop and awaited together at shutdown."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run `coro` in the background on the running loop."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def drain(self) -> None:
        """Wait for every task still running (their errors are theirs to log)."""
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

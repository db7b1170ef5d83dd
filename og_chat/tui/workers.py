"""How the TUI runs work off the key handlers: one decorator with the policy every worker shares.

A worker's failure is the worker's to report (a notice, the conversation, the header); it
never takes the app down (`exit_on_error=False`), and that rule is written here once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import work
from textual.worker import Worker

WorkerDecorator = Callable[[Callable[..., Any]], Callable[..., Worker[Any]]]


def background(
    description: str, *, group: str = "default", exclusive: bool = False, thread: bool = False
) -> WorkerDecorator:
    """`textual.work` with failures kept in the app: `description` names the work (Textual's
    worker list, errors); `exclusive` cancels the group's earlier run; `thread` for blocking
    work (files, sqlite), else the method is a coroutine on the event loop."""
    return work(
        group=group,
        exclusive=exclusive,
        thread=thread,
        exit_on_error=False,
        description=description,
    )

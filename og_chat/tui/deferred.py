"""What the TUI loads only after its first frame, in a worker thread, named in one place.

The config and session models (pydantic, through `local.py`), the runtime (httpx,
eth-account) and web3 (the settlement tracker's) each take longer to import than the whole first paint, and the runtime
constructs its client (eth-account) on the event loop. So the App imports them here, by
name, in a thread, and the rest of the TUI knows them by type only (TYPE_CHECKING imports,
which mypy and the layer contract both see). tests/tui/test_import_hygiene.py checks that
the first frame needs none of them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, cast

from og_chat.sdk import deferred_imports

if TYPE_CHECKING:
    from og_chat.app.runtime import Runtime

    from .local import LocalState

LOCAL_MODULE = "og_chat.tui.local"
RUNTIME_MODULE = "og_chat.app.runtime"
PRELOAD = (LOCAL_MODULE, RUNTIME_MODULE, "eth_account")
"""Imported by `preload()` before the runtime opens: what `Runtime.open` and the first paid
call would otherwise import on the event loop, while the UI is meant to paint. The first
call signs with eth-account and reads the chain with plain JSON-RPC: it needs no web3."""
CHAIN_PRELOAD = ("web3",)
"""Imported by `preload_chain()` once the runtime is open, before the settlement tracker
starts (it reads receipts and blocks through web3). Loading web3 before the runtime opened
put its ~0.5 s between the first frame and the first call."""


WARM_LANGUAGES = ("python", "bash", "javascript", "json", "rust")
"""Fence languages whose Pygments lexers `warm_highlighting` compiles ahead of the first answer."""


def warm_highlighting() -> None:
    """Load and compile the commonest fence languages' Pygments lexers; call it in a thread.

    Textual imports Pygments itself with its Markdown widget, but each lexer's module
    loads, and its patterns compile, at its first fence: Python's took 54 ms on the event
    loop, mid-answer. Done once per process; a failure here only leaves that to the
    first fence, as before.
    """
    try:
        from textual.highlight import highlight

        for language in WARM_LANGUAGES:
            highlight("x", language=language)
    except Exception:  # an optimisation: the first fence reports real trouble itself
        return


def local_state() -> type[LocalState]:
    """The `LocalState` class (importing the config and session models on first use)."""
    return cast("type[LocalState]", importlib.import_module(LOCAL_MODULE).LocalState)


def runtime() -> type[Runtime]:
    """The `Runtime` class (importing the client and the stores on first use)."""
    return cast("type[Runtime]", importlib.import_module(RUNTIME_MODULE).Runtime)


def preload() -> None:
    """Import everything in `PRELOAD`; call it in a thread, off the event loop.

    py_ecc's pairing tables, which eth-account's import computes and the client never uses,
    are deferred to their first use first (`og_chat.sdk.deferred_imports`)."""
    deferred_imports.install()
    _import(PRELOAD)


def preload_chain() -> None:
    """Import everything in `CHAIN_PRELOAD`; call it in a thread, off the event loop."""
    _import(CHAIN_PRELOAD)


def _import(names: tuple[str, ...]) -> None:
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError:
            continue  # whoever uses the module reports a missing piece with its own message

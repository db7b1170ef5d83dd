"""The registration point through which the SDK starts an embedded devnet.

`OG_NETWORK=devnet` without a URL makes `LLM` start a devnet in-process (the
tutorial needs it), but the SDK sits below the devnet and never imports it. A
devnet implementation registers a factory instead: `register(factory)` at run
time, or, for an installed package, an entry point in the group
``og_chat.embedded_devnet`` (og-chat's own devnet is registered that way in
pyproject.toml). The first call to `start()` looks the entry point up. The TUI runs its
embedded devnet in a child process instead (`devnet_process`), which calls `start()` there.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from .errors import ConfigurationError

ENTRY_POINT_GROUP = "og_chat.embedded_devnet"
WARM_ENTRY_POINT_GROUP = "og_chat.embedded_devnet_warm"
"""Where a devnet may name a function that loads what its start needs, starting nothing."""


class EmbeddedDevnet(Protocol):
    """What the SDK and the app need from a devnet they started."""

    @property
    def url(self) -> str:
        """The gateway's base URL (`GET {url}/devnet` describes the network)."""
        ...

    def stop(self) -> None:
        """Settle what is open and shut the devnet down (blocking)."""
        ...


class DevnetFactory(Protocol):
    """Starts a devnet and returns once its gateway answers (blocking)."""

    def __call__(
        self,
        *,
        tokens_per_second: float | None = ...,
        on_progress: Callable[[str], None] | None = ...,
        state_dir: Path | None = ...,
    ) -> EmbeddedDevnet:
        """`state_dir`: keep the devnet's chain there and resume it (None: nothing is kept)."""
        ...


_factory: DevnetFactory | None = None
_started: dict[str, EmbeddedDevnet] = {}
"""The devnets `start()` started for this process, by base URL (trusted: their documents are
ours)."""


def register(factory: DevnetFactory | None) -> None:
    """Use `factory` for embedded devnets from now on (None: back to the entry point)."""
    global _factory
    _factory = factory


def _from_entry_point() -> DevnetFactory | None:
    from importlib.metadata import entry_points  # ~30 ms (email, zipfile, csv): only to start one

    for point in entry_points(group=ENTRY_POINT_GROUP):
        loaded: DevnetFactory = point.load()
        return loaded
    return None


def factory() -> DevnetFactory:
    """The registered factory (`register`, else the entry point's, loaded now)."""
    found = _factory or _from_entry_point()
    if found is None:
        raise ConfigurationError(
            "no embedded devnet is installed",
            hint="install og-chat (it registers one), or set OG_DEVNET_URL to a running devnet",
        )
    return found


def warm() -> None:
    """Load what the installed devnet's start needs, starting nothing (its
    ``og_chat.embedded_devnet_warm`` entry point; nothing if it names none). For a process
    that will likely start one soon: the devnet child of `devnet_process`, while it waits."""
    from importlib.metadata import entry_points

    for point in entry_points(group=WARM_ENTRY_POINT_GROUP):
        point.load()()
        return


def start(
    *,
    tokens_per_second: float | None = None,
    on_progress: Callable[[str], None] | None = None,
    state_dir: Path | None = None,
) -> EmbeddedDevnet:
    """Start an embedded devnet with the registered factory (`state_dir`: keep its chain)."""
    devnet = factory()(
        tokens_per_second=tokens_per_second, on_progress=on_progress, state_dir=state_dir
    )
    adopt(devnet)
    return devnet


def adopt(devnet: EmbeddedDevnet) -> None:
    """Trust `devnet`, started for this process in a child of it (`devnet_process`), as a
    devnet `start()` started: its document is ours."""
    _started[devnet.url.rstrip("/")] = devnet


def disown(url: str) -> None:
    """Stop trusting `url` (its devnet is stopping: another server may take the port next)."""
    _started.pop(url.rstrip("/"), None)


def stop(devnet: EmbeddedDevnet) -> None:
    """Stop a devnet `start()` started, and stop trusting its URL first."""
    disown(devnet.url)
    devnet.stop()


def started_here(url: str | None) -> bool:
    """Whether `url` is a running devnet `start()` started in this process (its document is
    ours, so a user key may sign for it). A devnet whose child process has exited since (it
    crashed, or was killed) is trusted no more: another server may hold its port now."""
    key = str(url or "").rstrip("/")
    devnet = _started.get(key)
    if devnet is None:
        return False
    if getattr(devnet, "returncode", None) is not None:  # a child process (devnet_process) gone
        disown(key)
        return False
    return True

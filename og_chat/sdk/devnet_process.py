"""An embedded devnet in a child process, so it boots on one core while the app paints on the other.

`DevnetProcess.spawn()` returns at once: the child (`python -P -m
og_chat.sdk.devnet_process`, the current directory kept off its path) loads the registered
devnet and what its start needs (`embedded.factory`, `embedded.warm`: web3, py-evm,
aiohttp, ~1.5 s here) and waits for one line on its stdin. `start()` sends it the options;
the child then starts the devnet (`embedded.start`) and reports on its stdout, one JSON
object a line:
`{"progress": text}`, then `{"url": ...}` once the gateway answers, or
`{"error": ..., "hint": ...}`; `wait()` reads those lines. So a face may spawn the child
before it knows whether it needs a devnet (the CLI does, before it reads its config) and
`stop()` it unstarted if not: an unstarted child touches nothing and exits.

A started child runs until its stdin closes (`stop()`, or this process dying, however it
dies); then it settles what is open and posts what is pending (`Devnet.stop`) and exits,
so the devnet's kept chain (`state_dir`) is settled on exit as it is in-process.

The child ignores SIGINT and runs in its own session: a ctrl+c or a hang-up meant for the
app reaches it only as the app's exit (its stdin closing), never halfway through a write.
Its stderr goes to a temporary file whose tail is quoted if it fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from . import embedded
from .errors import ConfigurationError, OGError

STOP_TIMEOUT = 180.0
"""Seconds `stop()` waits for a ready child to settle and exit before killing it."""
KILL_TIMEOUT = 5.0
"""Seconds `stop()` waits for a child killed before it was ready (nothing was open to settle)."""
START_HINT = "run `og-chat devnet` in a terminal to see why, or set OG_DEVNET_URL to a running one"


class DevnetProcess:
    """The parent's handle on a devnet child: `wait()` until ready, `url`, `stop()`."""

    def __init__(self, process: subprocess.Popen[str], errors: IO[bytes]) -> None:
        self._process = process
        self._errors = errors
        self._url: str | None = None
        self._failure: OGError | None = None
        self._lock = threading.Lock()
        """Held by the one reader of the child's stdout (`wait`)."""
        self._stop_lock = threading.Lock()
        self._stopped = False
        self._started = False

    @classmethod
    def spawn(cls) -> DevnetProcess:
        """Start the child now (it loads the devnet, then waits for `start()`); returns at once."""
        errors = tempfile.TemporaryFile(prefix="og-devnet-")  # noqa: SIM115 - closed in stop()
        process = subprocess.Popen(
            # -P: the current directory is not on the child's path, so a `random.py` or a
            # `web3/` where the user runs og-chat cannot stand in for the real module.
            [sys.executable, "-P", "-m", __name__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            start_new_session=True,
        )
        return cls(process, errors)

    def start(
        self, *, tokens_per_second: float | None = None, state_dir: Path | None = None
    ) -> DevnetProcess:
        """Have the child start its devnet (`state_dir`: keep the chain there); returns at once.
        A second call does nothing (the first one's options hold)."""
        if self._started:
            return self
        options = {"tokens_per_second": tokens_per_second, "state_dir": str(state_dir or "")}
        self._started = True
        stdin = self._process.stdin
        assert stdin is not None
        try:
            stdin.write(json.dumps(options) + "\n")
            stdin.flush()
        except (OSError, ValueError):  # the child died loading (`wait()` says how), or stopped
            pass
        return self

    @property
    def pid(self) -> int:
        """The child's process id."""
        return self._process.pid

    @property
    def returncode(self) -> int | None:
        """The child's exit status; None while it runs."""
        return self._process.poll()

    @property
    def url(self) -> str:
        """The gateway's base URL (after `wait()`)."""
        if self._url is None:
            raise ConfigurationError("the embedded devnet is not ready", hint="wait() for it")
        return self._url

    def wait(self, on_progress: Callable[[str], None] | None = None) -> DevnetProcess:
        """Block until the devnet answers, passing its progress on; raise if it failed.

        Trusted like a devnet `embedded.start()` started here (`embedded.started_here`).
        """
        say = on_progress or (lambda _msg: None)
        with self._lock:  # one reader of the child's stdout
            if self._failure is not None:
                raise self._failure
            if self._url is not None:
                return self
            stdout = self._process.stdout
            assert stdout is not None
            for line in stdout:
                try:
                    message = json.loads(line)
                except ValueError:
                    continue  # not ours (libraries print to stderr there: see `_child`)
                if not isinstance(message, dict):
                    continue
                if "progress" in message:
                    say(str(message["progress"]))
                elif "url" in message:
                    self._url = str(message["url"])
                    if not self._stopped:  # stopped meanwhile (a quit mid-boot): not trusted
                        embedded.adopt(self)
                    return self
                elif "error" in message:
                    self._failure = ConfigurationError(
                        f"the embedded devnet did not start: {message['error']}",
                        hint=str(message.get("hint") or START_HINT),
                    )
                    raise self._failure
            self._process.wait()
            self._failure = ConfigurationError(
                f"the embedded devnet exited ({self._process.returncode}) before it was ready"
                f"{self._stderr_tail()}",
                hint=START_HINT,
            )
            raise self._failure

    def stop(self) -> None:
        """Stop trusting its URL and close the child's stdin: a ready one settles what is
        open and exits (blocking); one not ready yet has nothing open to settle and is killed
        (a kept chain survives that: it resumes from its last block).

        Safe while another thread `wait()`s: that one gets the URL or the exit, then returns.
        """
        with self._stop_lock:
            if self._stopped:
                return
            self._stopped = True
        if self._url is not None:
            embedded.disown(self._url)
        ready = self._started and self._url is not None
        if not ready:  # loading, waiting for its options or booting: nothing to settle
            self._process.kill()
        stdin = self._process.stdin
        if stdin is not None and not stdin.closed:
            with contextlib.suppress(OSError):  # a child that already died
                stdin.close()
        try:
            self._process.wait(timeout=STOP_TIMEOUT if ready else KILL_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        with self._lock:  # after a `wait()` still reading its tail
            self._errors.close()

    def _stderr_tail(self) -> str:
        if self._errors.closed:
            return ""
        size = self._errors.seek(0, 2)
        self._errors.seek(max(0, size - 600))
        tail = self._errors.read().decode("utf-8", "replace").strip()
        return f":\n{tail}" if tail else ""


_PROTOCOL: IO[str] = sys.stdout
"""The child's messages to the parent (its stdout at start; see `_child`)."""


def _say(**message: Any) -> None:
    _PROTOCOL.write(json.dumps(message) + "\n")
    _PROTOCOL.flush()


def _child() -> int:
    """The child's whole life: load, wait for the options, start, report, serve until stdin
    closes, settle, exit. With stdin closed before the options come, it exits untouched."""
    global _PROTOCOL
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The protocol keeps the real stdout; anything a library prints goes to stderr (the
    # parent's temp file), so it can neither fill a pipe nobody reads after the URL nor be
    # taken for a message.
    _PROTOCOL = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        embedded.factory()  # the devnet's imports, while the parent decides
        embedded.warm()
    except Exception as exc:
        _say(error=str(exc), hint=getattr(exc, "hint", None))
        return 1
    line = sys.stdin.readline()
    if not line.strip():
        return 0  # not needed after all
    options = json.loads(line)
    state_dir = options.get("state_dir") or None
    try:
        devnet = embedded.start(
            tokens_per_second=options.get("tokens_per_second"),
            on_progress=lambda text: _say(progress=text),
            state_dir=Path(state_dir) if state_dir else None,
        )
    except Exception as exc:
        _say(error=str(exc), hint=getattr(exc, "hint", None))
        return 1
    try:
        _say(url=devnet.url)
        sys.stdin.read()  # until the parent closes it, or dies
    finally:
        embedded.stop(devnet)
    return 0


if __name__ == "__main__":
    sys.exit(_child())

"""An embedded devnet in a child process, so it boots on one core while the app paints on the other.

`DevnetProcess.spawn()` returns at once: the child (`python -m og_chat.sdk.devnet_process`)
loads the registered devnet and what its start needs (`embedded.factory`, `embedded.warm`:
web3, py-evm, aiohttp, ~1.5 s here) and waits for one line on its stdin. `start()` sends it the options; the child then starts the
devnet (`embedded.start`) and reports on its stdout, one JSON object a line:
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
"""Seconds `stop()` waits for the child to settle and exit before killing it."""
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
            [sys.executable, "-m", __name__],
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
        except OSError:  # the child died loading: `wait()` says how
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
                    continue  # not ours: a library's print
                if not isinstance(message, dict):
                    continue
                if "progress" in message:
                    say(str(message["progress"]))
                elif "url" in message:
                    self._url = str(message["url"])
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
        """Close the child's stdin: a started one settles what is open and exits (blocking);
        an unstarted one, which has touched nothing yet, is killed.

        Safe while another thread `wait()`s: that one gets the URL or the exit, then returns.
        """
        with self._stop_lock:
            if self._stopped:
                return
            self._stopped = True
        if not self._started:  # still loading or waiting for its options: nothing to settle
            self._process.kill()
        stdin = self._process.stdin
        if stdin is not None and not stdin.closed:
            with contextlib.suppress(OSError):  # a child that already died
                stdin.close()
        try:
            self._process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._errors.close()

    def _stderr_tail(self) -> str:
        self._errors.seek(0)
        tail = self._errors.read()[-600:].decode("utf-8", "replace").strip()
        return f":\n{tail}" if tail else ""


def _say(**message: Any) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def _child() -> int:
    """The child's whole life: load, wait for the options, start, report, serve until stdin
    closes, settle, exit. With stdin closed before the options come, it exits untouched."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
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

"""A scripted OpenAI-compatible upstream on 127.0.0.1: markdown answers a test wrote, streamed.

`og-chat devnet --upstream URL` forwards every chat call here, so the TUI receives, through
the full paid x402 path, exactly the answer a test chose: e.g. one that ends with a
paragraph after a table (issue 13's lost last paragraph). The last user message picks the
answer (`answers[prompt]`, else `default`). Pieces are sent a few milliseconds apart, like
a hosted model, so the terminal receives many partial frames.

Run as a script (`python scripted_upstream.py ANSWER_FILE [DELAY]`) it prints its URL on
stdout and serves ANSWER_FILE to every prompt until stdin closes (for a look in tmux);
it stops by itself after `LIFETIME` seconds either way.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

LIFETIME = 300.0
"""Seconds after which the server stops even if nobody closes its stdin."""

_PIECE = re.compile(r"\S+\s*|\s+")


def pieces(text: str) -> list[str]:
    """The answer cut as a model streams it: a word and the spaces or newlines after it.

    The last paragraph goes out whole, in one event, as a model's last event often carries
    several tokens: then it lands in the same frame as the answer's footer, the frame in
    which issue 13's lost paragraph went missing.
    """
    head, blank, last = text.rpartition("\n\n")
    if not blank:
        return _PIECE.findall(text)
    return [*_PIECE.findall(head + blank), last]


class ScriptedUpstream:
    """Serves `answer` as an SSE stream to every `POST /v1/chat/completions`."""

    def __init__(self, answers: dict[str, str], default: str = "", delay: float = 0.004) -> None:
        self.answers = answers
        self.default = default
        self.delay = delay
        self.requests: list[dict[str, object]] = []
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: object) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                upstream.requests.append(body)
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                model = str(body.get("model") or "scripted")
                count = 0
                for piece in pieces(upstream.answer_to(body)):
                    count += 1
                    self._event(
                        {"model": model, "choices": [{"index": 0, "delta": {"content": piece}}]}
                    )
                    time.sleep(upstream.delay)
                self._event(
                    {
                        "model": model,
                        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                        "usage": {
                            "prompt_tokens": 12,
                            "completion_tokens": count,
                            "total_tokens": 12 + count,
                        },
                    }
                )
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

            def _event(self, obj: dict[str, object]) -> None:
                self.wfile.write(b"data: " + json.dumps(obj).encode() + b"\n\n")
                self.wfile.flush()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._stopped = threading.Event()
        self._timer = threading.Timer(LIFETIME, self.stop)
        self._timer.daemon = True

    def answer_to(self, body: dict[str, object]) -> str:
        """The scripted answer for the request's last user message."""
        messages = body.get("messages")
        prompt = ""
        for message in messages if isinstance(messages, list) else []:
            if isinstance(message, dict) and message.get("role") == "user":
                prompt = str(message.get("content") or "").strip()
        return self.answers.get(prompt, self.default)

    def start(self) -> ScriptedUpstream:
        self._thread.start()
        self._timer.start()
        return self

    def stop(self) -> None:
        """Stop serving (idempotent: the lifetime timer may have stopped it already)."""
        self._timer.cancel()
        if not self._stopped.is_set():
            self._stopped.set()
            self.server.shutdown()
            self.server.server_close()


if __name__ == "__main__":
    answer = Path(sys.argv[1]).read_text(encoding="utf-8")
    delay = float(sys.argv[2]) if len(sys.argv) > 2 else 0.004
    upstream = ScriptedUpstream({}, answer, delay).start()
    print(upstream.url, flush=True)
    sys.stdin.read()
    upstream.stop()

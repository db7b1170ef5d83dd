"""TUI benchmarks: first paint, streaming throughput, receipts browser on 100,000 receipts.

Run: `/work/venv/bin/python benchmarks/bench_tui.py` (about a minute on 2 cores).
Each figure is a median, printed beside a baseline measured in the same run:

- first paint (fresh process, to the first frame) vs a bare Textual app;
- a 10,000-token markdown answer, devnet SSE → screen through the chat screen's
  own streaming path, at 2,500 / 5,000 / 10,000 tokens (linearity), vs re-rendering
  with `Markdown.update(full_text)` per token at 300 tokens;
- the receipts browser opening on 100,000 receipts vs `DataTable.add_rows` of 10,000.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable

FIRST_PAINT = """
import time, sys
t0 = time.perf_counter()
from og_chat.tui.app import OGChatApp
class Probe(OGChatApp):
    def on_mount(self):
        super().on_mount()
        self.call_after_refresh(self.painted)
    def painted(self):
        print(f"{time.perf_counter() - t0:.4f}", flush=True)
        import os; os._exit(0)
Probe().run(headless=True)
"""

BARE_PAINT = """
import time
t0 = time.perf_counter()
from textual.app import App
from textual.widgets import Static
class Bare(App):
    def compose(self):
        yield Static("hello")
    def on_mount(self):
        self.call_after_refresh(self.painted)
    def painted(self):
        print(f"{time.perf_counter() - t0:.4f}", flush=True)
        import os; os._exit(0)
Bare().run(headless=True)
"""


def _paint_time(script: str, env: dict[str, str]) -> float:
    """Wall time from spawning a fresh interpreter to its first frame."""
    start = time.perf_counter()
    out = subprocess.run([PY, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    end = time.perf_counter()
    if out.returncode != 0 or not out.stdout.strip():
        raise RuntimeError(out.stderr[-2000:])
    return end - start  # spawn → first frame → os._exit: an upper bound on first paint


def bench_first_paint(runs: int = 7) -> dict[str, float]:
    """Median seconds to first frame, whole process (interpreter start included)."""
    env = dict(os.environ, OG_CHAT_HOME=tempfile.mkdtemp(prefix="og-bench-"), PYTHONPATH=str(ROOT))
    ours = [_paint_time(FIRST_PAINT, env) for _ in range(runs)]
    bare = [_paint_time(BARE_PAINT, env) for _ in range(runs)]
    return {"og-chat": statistics.median(ours), "bare textual app": statistics.median(bare)}


async def _stream_through_chat_screen(devnet: Any, tokens: int) -> tuple[float, int]:
    """Send a prompt asking for `tokens` words; seconds from Enter to the final render."""
    from og_chat.tui.app import OGChatApp

    app = OGChatApp(devnet_url=devnet.url)
    async with app.run_test(size=(160, 50)) as pilot:
        main = app.main_screen
        assert main is not None
        main.max_tokens = tokens + 200
        main.tools_enabled = False
        await app.wait_for_backend()
        prompt = f"write {tokens} words about verifiable inference"
        main.query_one("#prompt").text = prompt  # type: ignore[attr-defined]
        start = time.perf_counter()
        await pilot.press("enter")
        await pilot.pause()
        while main._turn_running():
            await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - start
        receipt = app.backend.receipts.load()[-1]
        return elapsed, receipt.completion_tokens


async def _baseline_update_per_token(devnet: Any, tokens: int) -> tuple[float, int]:
    """The naive way: the same SSE stream, `Markdown.update(full_text)` on every token."""
    from textual.app import App, ComposeResult
    from textual.containers import VerticalScroll
    from textual.widgets import Markdown

    from og_chat.tui.backend import Backend

    class Naive(App[None]):
        def compose(self) -> ComposeResult:
            with VerticalScroll():
                yield Markdown()

    backend = Backend(devnet_url=devnet.url)
    await backend.open()
    app = Naive()
    count = 0
    async with app.run_test(size=(160, 50)):
        md = app.query_one(Markdown)
        text = ""
        start = time.perf_counter()
        async for chunk in backend.stream_chat(
            "anthropic/claude-haiku-4-5",
            [{"role": "user", "content": f"write {tokens} words about verifiable inference"}],
            mode="batch",
            max_tokens=tokens,
        ):
            for choice in chunk.choices:
                if choice.delta.content:
                    text += choice.delta.content
                    count += 1
                    await md.update(text)
        elapsed = time.perf_counter() - start
    await backend.close()
    return elapsed, count


DEVNET_PROCESS = """
import sys, time
from og_chat.devnet import Devnet
devnet = Devnet.start(tokens_per_second=0)
print(devnet.url, flush=True)
sys.stdin.read()
devnet.stop()
"""


class _RemoteDevnet:
    """A devnet in its own process, so the gateway's work does not share our GIL."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [PY, "-c", DEVNET_PROCESS],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
        )
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)


def bench_streaming() -> dict[str, Any]:
    """Tokens/s SSE → screen at three lengths, and the per-token-update baseline."""
    os.environ["OG_CHAT_HOME"] = tempfile.mkdtemp(prefix="og-bench-")
    devnet = _RemoteDevnet()
    try:
        out: dict[str, Any] = {}
        for size in (2_500, 5_000, 10_000):
            runs = [asyncio.run(_stream_through_chat_screen(devnet, size)) for _ in range(3)]
            elapsed = statistics.median(r[0] for r in runs)
            tokens = runs[0][1]
            out[size] = (elapsed, tokens, tokens / elapsed)
        base = [asyncio.run(_baseline_update_per_token(devnet, 300)) for _ in range(3)]
        elapsed = statistics.median(r[0] for r in base)
        out["baseline-300"] = (elapsed, base[0][1], base[0][1] / elapsed)
        return out
    finally:
        devnet.stop()


def _synthetic_receipts(count: int) -> list[Any]:
    from og_chat.sdk.models import CATALOGUE
    from og_chat.sdk.types import Receipt

    models = list(CATALOGUE.values())
    start = 1_780_000_000.0
    receipts = []
    for i in range(count):
        info = models[i % len(models)]
        receipts.append(
            Receipt(
                id=f"{i:032x}",
                created_at=start + i * 30,
                model=info.id,
                provider=info.provider,
                network="devnet",
                endpoint="http://127.0.0.1:0",
                settlement_mode=("private", "batch", "individual")[i % 3],
                signature_status="verified",
                prompt_tokens=40,
                completion_tokens=200 + i % 300,
                total_tokens=240 + i % 300,
                price_opg="0.00021",
                charged_opg="0.00021" if i % 7 else None,
                payment_status="settled" if i % 7 else "pending",
                payment_hash=f"0x{i:064x}",
            )
        )
    return receipts


async def _open_browser(preloaded: bool, opens: int = 4) -> list[float]:
    """Seconds from ctrl+r to the first frame with rows, for several opens in one app."""
    from og_chat.tui.app import OGChatApp
    from og_chat.tui.screens.receipts import ReceiptsBrowser

    app = OGChatApp(start_backend=False)
    times = []
    async with app.run_test(size=(160, 50)) as pilot:
        if preloaded:  # the app's runtime already holds the log in memory
            from og_chat.store.receipts import ReceiptStore

            store = ReceiptStore()
            store.load()
            app.backend.runtime = type("R", (), {"receipts": store})()
        for _ in range(opens):
            start = time.perf_counter()
            await pilot.press("ctrl+r")
            browser = app.screen
            assert isinstance(browser, ReceiptsBrowser)
            while browser.loaded_in is None:
                await asyncio.sleep(0.005)
            await pilot.pause()  # the first frame with rows
            times.append(time.perf_counter() - start)
            await pilot.press("escape")
            await pilot.pause()
        app.backend.runtime = None
    return times


async def _datatable_baseline(rows: int) -> float:
    from textual.app import App, ComposeResult
    from textual.widgets import DataTable

    from og_chat.tui.screens.receipts import browser_cells

    receipts = _synthetic_receipts(rows)

    class Table(App[None]):
        def compose(self) -> ComposeResult:
            yield DataTable()

    app = Table()
    async with app.run_test(size=(160, 50)) as pilot:
        table = app.query_one(DataTable)
        start = time.perf_counter()
        table.add_columns(
            *(["time", "model", "tokens", "OPG", "mode", "TEE", "pay", "receipt", "hash"])
        )
        table.add_rows(browser_cells(r) for r in receipts)
        await pilot.pause()
        return time.perf_counter() - start


def bench_receipts() -> dict[str, float]:
    """Browser open on 100,000 receipts (log in memory), vs the same browser on none."""
    import json

    from og_chat.store.receipts import ReceiptStore

    os.environ["OG_CHAT_HOME"] = tempfile.mkdtemp(prefix="og-bench-")
    empty = asyncio.run(_open_browser(False))
    store = ReceiptStore()
    store.directory.mkdir(parents=True, exist_ok=True)
    lines = [
        json.dumps({"type": "receipt", "v": 1, "receipt": r.to_dict()})
        for r in _synthetic_receipts(100_000)
    ]
    store.path.write_text("\n".join(lines) + "\n")
    start = time.perf_counter()
    ReceiptStore().load()
    parse = time.perf_counter() - start
    full = asyncio.run(_open_browser(True))
    table = statistics.median(asyncio.run(_datatable_baseline(10_000)) for _ in range(3))
    return {
        "first": full[0],
        "repeat": statistics.median(full[1:]),
        "empty-first": empty[0],
        "empty-repeat": statistics.median(empty[1:]),
        "store-parse": parse,
        "datatable-10k": table,
    }


def main() -> None:
    paint = bench_first_paint()
    print("first paint (fresh process, median of 7)")
    print(f"  og-chat            {paint['og-chat']:.3f} s   (target ≤ 0.5 s)")
    print(f"  bare textual app   {paint['bare textual app']:.3f} s   (baseline)")

    receipts = bench_receipts()
    print("receipts browser, ctrl+r → first frame with rows (log already in memory)")
    print(
        f"  100,000 receipts   first {receipts['first']:.3f} s · again {receipts['repeat']:.3f} s"
        "   (target ≤ 0.5 s)"
    )
    print(
        f"  no receipts        first {receipts['empty-first']:.3f} s · again "
        f"{receipts['empty-repeat']:.3f} s   (baseline: the screen itself)"
    )
    print(f"  DataTable 10,000   {receipts['datatable-10k']:.3f} s   (baseline: 1/10 of the rows)")
    print(
        f"  store parse 100k   {receipts['store-parse']:.3f} s   (ReceiptStore.load, cold; store's)"
    )

    stream = bench_streaming()
    print("streaming markdown, devnet SSE → screen (median of 3)")
    for size in (2_500, 5_000, 10_000):
        elapsed, tokens, rate = stream[size]
        print(
            f"  {tokens:>6} tokens     {elapsed:.3f} s   {rate:,.0f} tok/s  "
            f"({elapsed / tokens * 1e6:.0f} µs/token)"
        )
    elapsed, tokens, rate = stream["baseline-300"]
    print(
        f"  baseline update()  {elapsed:.3f} s   {rate:,.0f} tok/s at {tokens} tokens "
        "(Markdown.update(full_text) per token)"
    )


if __name__ == "__main__":
    main()

"""Run every benchmark and print one table (figure, median, target, anchor); JSON to benchmarks/results/.

Each `benchmarks/bench_*.py` exposes `run() -> list[dict]` with keys figure,
median, unit, target, anchor, ok. `python -m benchmarks [NAME ...]` runs some.
"""

from __future__ import annotations

import importlib
import json
import platform
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    names = argv or sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))
    rows = []
    failed: list[str] = []
    for name in names:
        module = importlib.import_module(f"benchmarks.bench_{name}")
        run = getattr(module, "run", None)
        if run is None:
            print(f"benchmarks/bench_{name}.py has no run(); skipped", file=sys.stderr)
            continue
        print(f"… {name}", file=sys.stderr, flush=True)
        try:
            measured = run()
        except Exception:  # one module's crash must not lose the others' figures
            traceback.print_exc()
            failed.append(name)
            continue
        for row in measured:
            rows.append({"bench": name, **row})
    machine = f"{platform.machine()}, {platform.python_version()}, {platform.node()}"
    width = max((len(r["figure"]) for r in rows), default=10)
    print(f"machine: {machine}")
    print(f"{'figure':<{width}}  {'median':>12}  {'target':<14} ok  anchor (same run)")
    for r in rows:
        value = f"{r['median']:.3f} {r['unit']}"
        print(
            f"{r['figure']:<{width}}  {value:>12}  {r['target']:<14} {'✓' if r.get('ok') else '✗'}   {r['anchor']}"
        )
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    (out / f"{stamp}.json").write_text(
        json.dumps({"machine": machine, "rows": rows}, indent=2, default=str)
    )
    (out / "latest.json").write_text(
        json.dumps({"machine": machine, "rows": rows}, indent=2, default=str)
    )
    for name in failed:
        print(f"benchmarks/bench_{name}.py crashed (traceback above): no figures")
    return 0 if all(r.get("ok") for r in rows) and not failed else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

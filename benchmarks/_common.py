"""Helpers shared by the benchmark modules (not a benchmark: no `bench_` prefix)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

Row = dict[str, Any]

OFFICIAL_VENV = Path("/tmp/og-bench-official")
OFFICIAL_SPEC = "opengradient==1.1.4"
ELIA_VENV = Path("/tmp/og-bench-elia")
ELIA_SPEC = "elia-chat"


def row(figure: str, median: float, unit: str, target: str, anchor: str, ok: bool) -> Row:
    return {"figure": figure, "median": median, "unit": unit, "target": target,
            "anchor": anchor, "ok": bool(ok)}  # fmt: skip


def cached_venv(path: Path, spec: str, module: str) -> tuple[Path | None, str]:
    """A venv at `path` with `spec` installed (created once, reused): (python, note).

    Returns (None, why) when it cannot be created; callers then skip the anchor.
    """
    python = path / "bin" / "python"
    probe = [str(python), "-c", f"import {module}"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python, "cached venv"
    base = shutil.which("python3") or sys.executable
    print(f"  creating {path} ({spec}); once, about a minute", file=sys.stderr, flush=True)
    try:
        subprocess.run([base, "-m", "venv", str(path)], check=True, capture_output=True,
                       timeout=120)  # fmt: skip
        out = subprocess.run([str(python), "-m", "pip", "install", "-q", spec],
                             capture_output=True, text=True, timeout=900)  # fmt: skip
    except (subprocess.SubprocessError, OSError) as exc:
        return None, f"venv for {spec} failed: {exc}"
    if out.returncode != 0:
        tail = [ln for ln in out.stderr.splitlines() if not ln.startswith("WARNING")][-1:]
        return None, f"pip install {spec} failed: {' '.join(tail)[:160]}"
    if subprocess.run(probe, capture_output=True).returncode != 0:
        return None, f"{spec} installed but `import {module}` fails"
    return python, "venv created this run"


def print_rows(rows: list[Row]) -> None:
    """What each module's `main()` prints: its rows, one per line."""
    for r in rows:
        mark = "ok" if r["ok"] else "MISSED"
        print(f"{r['figure']}: {r['median']:.3f} {r['unit']}  (target {r['target']}: {mark}; "
              f"anchor: {r['anchor']})")  # fmt: skip

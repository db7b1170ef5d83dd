"""Headless modules stay free of the UI, and the UI starts without the chain libraries."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest


def _loaded_after(statement: str) -> set[str]:
    code = f"import sys, json\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return {name.split(".")[0] for name in json.loads(out)}


@pytest.mark.parametrize("module", ["og_chat.sdk", "og_chat.store", "og_chat.app.tools"])
def test_headless_modules_do_not_import_textual_or_rich(module: str) -> None:
    loaded = _loaded_after(f"import {module}")
    assert not loaded & {"textual", "rich"}


FIRST_FRAME_NEVER = {"web3", "eth_account", "aiohttp", "eth_tester", "pydantic", "httpx", "Crypto"}
"""What the first frame must not wait for: the chain libraries, the config and x402 models
(pydantic), the HTTP client and the keccak backend load after it (tui/deferred.py)."""


def test_the_tui_module_does_not_import_web3_eth_account_aiohttp_or_the_devnet() -> None:
    loaded = _loaded_after("import og_chat.tui.app")
    assert not loaded & FIRST_FRAME_NEVER, loaded & FIRST_FRAME_NEVER
    full = _loaded_after("import og_chat.tui.app; import sys; sys.modules.pop('x', None)")
    assert "og_chat" in full


def test_building_the_app_imports_no_chain_library() -> None:
    code = "from og_chat.tui.app import OGChatApp\nOGChatApp(start_backend=False)"
    loaded = _loaded_after(code)
    assert not loaded & FIRST_FRAME_NEVER, loaded & FIRST_FRAME_NEVER


def test_the_tui_imports_no_private_textual_module() -> None:
    """Textual's `_private` modules change without notice: only its public API is used."""
    tui = Path(__file__).resolve().parents[2] / "og_chat" / "tui"
    private = []
    for path in sorted(tui.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            for name in names:
                parts = name.split(".")
                if parts[0] in ("textual", "rich") and any(p.startswith("_") for p in parts):
                    private.append(f"{path.relative_to(tui)}: {name}")
    assert not private, private

"""The committed artifacts.json is what contracts/*.sol compile to (checked when Node is here)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from og_chat.devnet.contracts import CONTRACT_NAMES, load_artifacts

REPO = Path(__file__).resolve().parents[2]


def test_artifacts_hold_every_contract() -> None:
    artifacts = load_artifacts()
    assert artifacts["evmVersion"] == "shanghai"
    assert artifacts["compiler"].startswith("solc-js 0.8.37")
    for name in CONTRACT_NAMES:
        entry = artifacts["contracts"][name]
        assert (
            entry["abi"]
            and entry["bytecode"].startswith("0x")
            and len(entry["deployedBytecode"]) > 100
        )


def test_solc_pin_is_exact() -> None:
    package = json.loads((REPO / "package.json").read_text())
    assert package["devDependencies"]["solc"] == "0.8.37"


def test_recompiling_reproduces_the_committed_artifacts() -> None:
    node = shutil.which("node")
    if node is None or not (REPO / "node_modules" / "solc").is_dir():
        pytest.skip("node or node_modules/solc missing (run `npm ci` to enable this check)")
    out = subprocess.run(
        [node, str(REPO / "contracts" / "compile.js"), "--stdout"],
        capture_output=True, text=True, timeout=120, check=True, cwd=REPO,
    )  # fmt: skip
    assert json.loads(out.stdout) == load_artifacts()

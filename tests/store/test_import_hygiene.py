"""The store is used by the CLI and the SDK: it must not drag in the UI or the chain stack."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_store_imports_neither_textual_rich_nor_signing_libraries() -> None:
    code = (
        "import sys\n"
        "import og_chat.store.paths, og_chat.store.config, og_chat.store.sessions\n"
        "import og_chat.store.receipts, og_chat.store.keystore, og_chat.store.atomic\n"
        "heavy = ('textual', 'rich', 'web3', 'eth_account', 'eth_keyfile', 'eth_keys')\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & set(heavy)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"

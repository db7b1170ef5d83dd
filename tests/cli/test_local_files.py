"""Item 8: local files never crash the CLI.

A receipt line with a bad field is reported and skipped; a config nested 5,000 levels
deep is a clear error; a keystore others can read is refused before a passphrase is asked.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from og_chat.sdk.types import Receipt
from og_chat.store import keystore
from og_chat.store.paths import config_path, data_dir
from og_chat.store.receipts import ReceiptStore

KEY = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"


def _receipt(rid: str) -> dict[str, Any]:
    return Receipt(id=rid, created_at=1_780_000_000.0, model="openai/gpt-5", provider="openai",
                   network="devnet", endpoint="http://127.0.0.1:1",
                   settlement_mode="batch").to_dict()  # fmt: skip


BAD = {
    "created_at NaN": ("created_at", "NaN"),
    "created_at 1e20": ("created_at", "1e20"),
    "total_tokens null": ("total_tokens", "null"),
    "prompt_tokens negative": ("prompt_tokens", "-5"),
    "deadline a string": ("deadline", '"soon"'),
    "merkle_proof of numbers": ("merkle_proof", "[1, 2]"),
    "tee_timestamp a float": ("tee_timestamp", "1.5"),
    "price an object": ("price_opg", '{"a": 1}'),
}


def _write_log(lines: list[bytes]) -> Path:
    path = data_dir(create=True) / "receipts.jsonl"
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path


def _line(receipt: dict[str, Any], field: str | None = None, raw: str | None = None) -> bytes:
    text = json.dumps({"type": "receipt", "v": 1, "receipt": receipt})
    if field is not None:
        text = text.replace(json.dumps(field) + ": " + json.dumps(receipt[field]),
                            json.dumps(field) + ": " + str(raw), 1)  # fmt: skip
    return text.encode()


def test_bad_receipt_fields_are_reported_and_skipped_by_list_and_show(og: Any) -> None:
    ids = [f"bad{i:02d}" for i in range(len(BAD))]
    lines = [_line(_receipt("good-one"))]
    lines += [
        _line(_receipt(rid), field, raw)
        for rid, (field, raw) in zip(ids, BAD.values(), strict=True)
    ]
    _write_log(lines)
    loaded = {r.id for r in ReceiptStore().load()}
    assert loaded == {"good-one", *ids}  # the store loads them; the views must not trust them
    for argv in (("receipts", "list"), ("receipts", "list", "--json")):
        listed = og(*argv)
        assert listed.code == 0, listed.err
        assert "good-one" in listed.out
        for rid, name in zip(ids, BAD, strict=True):
            assert rid not in listed.out
            assert f"receipt {rid} skipped: {BAD[name][0]}" in listed.err
    shown = og("receipts", "show", "good-one")
    assert shown.code == 0 and "good-one" in shown.out
    for rid, (field, _) in zip(ids, BAD.values(), strict=True):
        refused = og("receipts", "show", rid)
        assert refused.code == 2, refused.err
        assert f"cannot be shown: {field}" in refused.err
        assert "Traceback" not in refused.err


@pytest.mark.parametrize(
    "text",
    [
        "network = " + "[" * 5000 + "]" * 5000,
        "keymap = " + "{b = " * 5000 + "1" + "}" * 5000,
        "[spend]\nmax_per_day_opg = " + "[" * 5000 + "]" * 5000,
        ".".join(["a"] * 5000) + " = 1",
    ],
    ids=["arrays", "inline-tables", "in-a-section", "dotted-keys"],
)
def test_a_config_nested_5000_levels_deep_is_a_clear_error(og: Any, text: str) -> None:
    """Too deep to parse, or parsed and refused: either way one line naming the file."""
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    for argv in (("config", "show"), ("ask", "hi")):
        result = og(*argv)
        assert result.code == 2
        assert result.err.startswith(f"og-chat: {path}: ")
        assert "Traceback" not in result.err and len(result.err) < 1000


def test_a_keystore_others_can_read_is_refused_before_the_passphrase(
    og: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    keystore.import_key(KEY, "pw", scrypt_n=2**4)
    path = keystore.keystore_path()
    path.chmod(0o644)
    asked: list[str] = []
    with pytest.raises(keystore.KeystoreError, match="mode 0644") as info:
        keystore.resolve_private_key(lambda: asked.append("asked") or "pw")
    assert asked == [] and f"chmod 600 {path}" in info.value.hint
    with pytest.raises(keystore.KeystoreError, match="readable or writable by others"):
        keystore.load_key("pw")
    monkeypatch.delenv("OG_DEVNET_URL")  # no devnet named: a keystore means mainnet
    result = og("wallet", "balance")
    assert result.code == 2 and "refusing to use it" in result.err
    path.chmod(0o600)
    assert keystore.load_key("pw") == KEY

"""`og-chat receipts`, `models`, `sessions`, `config`, `wallet`: the devnet and real files."""

from __future__ import annotations

import csv
import io
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from og_chat.cli import EXIT_USAGE, EXIT_VERIFY
from og_chat.cli.output import EXIT_PENDING
from og_chat.devnet import Devnet
from tests.cli.helpers import ask_json, settle

# -- models ---------------------------------------------------------------------------


def test_models_json_lists_the_catalogue_with_capabilities_and_devnet_prices(og: Any) -> None:
    result = og("models", "--json")
    assert result.code == 0
    rows = result.json()
    ids = {r["id"] for r in rows}
    assert "anthropic/claude-sonnet-4-6" in ids and len(rows) >= 40
    row = next(r for r in rows if r["id"] == "openai/gpt-4.1-mini")
    assert row["tools"] is True and row["name"] == "gpt-4.1-mini"
    assert set(row["price_opg_per_million"]) == {"prompt", "completion"}  # OG_DEVNET_URL is set


def test_models_without_a_devnet_leave_prices_out_unless_asked(
    og: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OG_DEVNET_URL")
    rows = og("models", "--json", "--provider", "Anthropic").json()
    assert rows and all(r["provider"] == "anthropic" for r in rows)
    assert all("price_opg_per_million" not in r for r in rows)
    priced = og("models", "--json", "--prices", "--provider", "x-ai").json()
    assert all("price_opg_per_million" in r for r in priced)
    assert og("models", "--provider", "nobody").code == EXIT_USAGE


# -- list, show, export ---------------------------------------------------------------


def test_receipts_list_json_gives_objects_with_ids_and_filters(og: Any) -> None:
    first = ask_json(og)["receipt"]
    second = ask_json(og, "--mode", "private")["receipt"]
    listed = og("receipts", "list", "--json").json()
    assert [r["id"] for r in listed] == [first["id"], second["id"]]
    private = og("receipts", "list", "--json", "--mode", "private").json()
    assert [r["id"] for r in private] == [second["id"]]
    assert og("receipts", "list", "--json", "--model", "GPT_4_1_MINI").json() == listed
    assert og("receipts", "list", "--json", "--provider", "anthropic").json() == []
    assert og("receipts", "list", "--json", "--since", "1h").json() == listed
    assert og("receipts", "list", "--json", "--status", "settled").json() == []
    table = og("receipts")
    assert table.code == 0 and first["id"][:12] in table.out and "pending" in table.out
    assert og("receipts", "list", "--since", "yesterday-ish").code == EXIT_USAGE


def test_receipts_show_finds_a_receipt_by_prefix(og: Any) -> None:
    receipt = ask_json(og)["receipt"]
    shown = og("receipts", "show", receipt["id"][:8])
    assert shown.code == 0
    assert receipt["payment_hash"] in shown.out
    assert og("receipts", "show", receipt["id"][:8], "--json").json()["id"] == receipt["id"]
    missing = og("receipts", "show", "zzzz")
    assert missing.code == EXIT_USAGE and "no receipt" in missing.err


def test_export_writes_json_and_csv(og: Any, tmp_path: Path) -> None:
    receipt = ask_json(og)["receipt"]
    out_json = tmp_path / "r.json"
    assert og("receipts", "export", "--out", str(out_json)).code == 0
    exported = json.loads(out_json.read_text())
    assert [r["id"] for r in exported] == [receipt["id"]]
    csv_text = og("receipts", "export", "--format", "csv").out
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    assert rows[0]["id"] == receipt["id"] and rows[0]["payment_hash"] == receipt["payment_hash"]


# -- sync and verify --------------------------------------------------------------------


def test_sync_settles_and_verify_passes_on_a_fresh_receipt(og: Any) -> None:
    receipt = ask_json(og)["receipt"]
    assert receipt["payment_status"] == "pending"
    synced = settle(og)
    assert receipt["id"][:12] in synced.out
    stored = og("receipts", "show", receipt["id"], "--json").json()
    assert stored["payment_status"] == "settled"
    assert stored["payment_tx"] and stored["payment_hash"] == receipt["payment_hash"]
    assert stored["payment_hash"] == stored["call_id"] != stored["authorization_digest"]
    assert stored["batch_root"] and stored["merkle_leaf"] and stored["merkle_proof"] is not None
    result = og("receipts", "verify", receipt["id"])
    assert result.code == 0, result.out
    lines = result.out.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "✓ output hash",
        "✓ payment hash",
        "✓ tee signature",
        "✓ payment",
        "✓ on-chain record",
        "verified",
    ]


def test_verify_of_a_fresh_receipt_is_pending_then_verified_without_a_sync(og: Any) -> None:
    receipt = ask_json(og, "--mode", "private")["receipt"]
    result = og("receipts", "verify", receipt["id"])
    assert result.code == EXIT_PENDING, result.out
    assert "⧗ payment: pending: the upto session" in result.out
    # when to expect it: "expected in about N s", or "due N s ago" on a machine so busy
    # that the session's idle second passed before this verify ran
    assert re.search(r"s after its last call \((expected in about|due) \d+ s", result.out)
    assert "✓ tee signature" in result.out and "✗" not in result.out
    assert result.out.strip().splitlines()[-1].startswith("pending:")
    # Nothing but time: the session settles when idle and the record is posted, and the
    # same command then passes (no `receipts sync` in between).
    deadline = time.monotonic() + 30
    while result.code == EXIT_PENDING and time.monotonic() < deadline:
        time.sleep(0.5)
        result = og("receipts", "verify", receipt["id"])
    assert result.code == 0, result.out
    assert "✓ on-chain record: CallRecorded" in result.out


def _settled_export(og: Any, tmp_path: Path, *extra: str) -> dict[str, Any]:
    receipt = ask_json(og, *extra)["receipt"]
    settle(og)
    out = tmp_path / "receipt.json"
    assert og("receipts", "export", receipt["id"], "--out", str(out)).code == 0
    exported: dict[str, Any] = json.loads(out.read_text())[0]
    return exported


def test_exported_receipt_verifies_with_only_the_rpc_url(
    og: Any, devnet: Devnet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exported = _settled_export(og, tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    file = elsewhere / "receipt.json"
    exported["endpoint"] = "http://127.0.0.1:9"  # the gateway is not needed, only the chain
    file.write_text(json.dumps(exported))
    monkeypatch.delenv("OG_DEVNET_URL")
    monkeypatch.setenv("OG_CHAT_HOME", str(elsewhere / "home"))  # another machine: no store
    result = og("receipts", "verify", str(file), "--rpc-url", devnet.url + "/rpc")
    assert result.code == 0, result.out
    assert result.out.count("✓") == 5


@pytest.mark.parametrize(
    ("field", "failing"),
    [
        ("output_text", ["output hash"]),
        ("tee_signature", ["tee signature", "on-chain record"]),  # the leaf hashes it too
        ("merkle_proof", ["on-chain record"]),
    ],
)
def test_a_tampered_receipt_fails_verification(
    og: Any,
    devnet: Devnet,
    tmp_path: Path,
    field: str,
    failing: list[str],
    settled_receipt: dict[str, Any],
) -> None:
    tampered = dict(settled_receipt)
    if field == "output_text":
        tampered["output_text"] = tampered["output_text"].replace("e", "3", 1)
    elif field == "tee_signature":
        sig = tampered["tee_signature"]
        tampered["tee_signature"] = ("B" if sig[0] != "B" else "C") + sig[1:]
    else:
        tampered["merkle_proof"] = ["0x" + "11" * 32, *tampered["merkle_proof"]]
    file = tmp_path / f"tampered-{field}.json"
    file.write_text(json.dumps(tampered))
    result = og("receipts", "verify", str(file), "--rpc-url", devnet.url + "/rpc")
    assert result.code == EXIT_VERIFY
    failed = [line[2:].split(":")[0] for line in result.out.splitlines() if line.startswith("✗")]
    assert failed == failing, result.out


@pytest.fixture(scope="module")
def _settled_cache() -> dict[str, Any]:
    return {}


@pytest.fixture
def settled_receipt(og: Any, tmp_path: Path, _settled_cache: dict[str, Any]) -> dict[str, Any]:
    """One settled, proven receipt shared by the tamper tests (settling takes a second)."""
    if "receipt" not in _settled_cache:
        _settled_cache["receipt"] = _settled_export(og, tmp_path)
    return dict(_settled_cache["receipt"])


def test_individual_receipt_verifies_its_settlement_transaction(og: Any, tmp_path: Path) -> None:
    exported = _settled_export(og, tmp_path, "--mode", "individual")
    assert exported["data_settlement_tx"]
    result = og("receipts", "verify", exported["id"])
    assert result.code == 0, result.out
    assert "✓ on-chain record: settleIndividual: model openai/" in result.out
    assert exported["payment_hash"] == exported["data_settlement_tx"]


# -- sessions, config, wallet -----------------------------------------------------------


def test_sessions_list_and_export(og: Any) -> None:
    from og_chat.store.sessions import Message, Session, SessionStore

    session = Session.new("Permit2 questions", model="openai/gpt-4.1-mini")
    session.messages = [
        Message(role="user", content="what is permit2?"),
        Message(role="assistant", content="A token approval contract."),
    ]
    SessionStore().save(session)
    listed = og("sessions", "list", "--json").json()
    assert [s["id"] for s in listed] == [session.id]
    assert session.id in og("sessions").out
    md = og("sessions", "export", session.id)
    assert md.code == 0 and "what is permit2?" in md.out
    as_json = og("sessions", "export", session.id, "--format", "json").json()
    assert as_json["id"] == session.id
    assert og("sessions", "export", "nope").code == EXIT_USAGE


def test_config_path_init_and_show(og: Any) -> None:
    path = Path(og("config", "path").out.strip())
    assert not path.exists()
    assert og("config", "init").code == 0 and path.exists()
    again = og("config", "init")
    assert again.code == EXIT_USAGE and "already exists" in again.err
    shown = og("config", "show")
    assert shown.code == 0 and "model" in shown.out
    assert og("config").out == shown.out  # bare `config` shows, as `receipts` lists


def test_wallet_create_import_and_address_never_print_the_key(
    og: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from og_chat.store import keystore

    monkeypatch.setattr(keystore, "SCRYPT_N", 2)  # keep the test fast; real wallets use geth's N
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "correct horse battery")
    assert og("wallet", "address").code == EXIT_USAGE
    created = og("wallet", "create")
    assert created.code == 0
    address = created.out.strip()
    assert address.startswith("0x") and len(address) == 42
    assert og("wallet", "address").out.strip() == address
    refused = og("wallet", "create")
    assert refused.code == EXIT_USAGE and "already exists" in refused.err

    monkeypatch.setenv("OG_CHAT_HOME", str(Path(keystore.keystore_path()).parent.parent / "other"))
    key = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
    monkeypatch.setattr(sys, "stdin", io.StringIO(key + "\n"))
    imported = og("wallet", "import")
    assert imported.code == 0, imported.err
    assert imported.out.strip() == "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    assert key[2:] not in imported.out + imported.err


def test_wallet_balance_on_the_devnet(og: Any) -> None:
    ask_json(og)  # a paid call, settled: its approval sets the allowance, whatever ran before
    settle(og)
    result = og("wallet", "balance", "--json")
    assert result.code == 0, result.err
    doc = result.json()
    assert doc["network"] == "devnet" and int(doc["opg"]) > 0 and int(doc["allowance"]) > 0
    bare = og("wallet")  # bare `wallet`: the balance, for people
    assert bare.code == 0, bare.err
    assert doc["address"] in bare.out and "allowance" in bare.out


def test_an_embedded_devnet_receipt_verifies_after_og_chat_quit(
    og: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OG_DEVNET_URL")  # the embedded devnet, its chain kept in the data dir
    # `ask` stops it on exit: the session settles, the batch posts
    receipt = ask_json(og)["receipt"]
    # Nothing serves the chain now and the receipt names the old port: verify serves the kept
    # chain itself (before, this said "chain reset: cannot be checked").
    result = og("receipts", "verify", receipt["payment_hash"])
    assert result.code == 0, result.out
    assert "✓ on-chain record: BatchLeaf" in result.out and "chain reset" not in result.out

"""`og-chat receipts list|show|export|verify|sync`: the receipt log, from the command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from og_chat.app.checks import check_mark
from og_chat.app.costs import receipt_cost
from og_chat.app.runtime import Runtime
from og_chat.app.settlement import EventFields, SettlementTracker
from og_chat.app.verify import Verification, Verifier, VerifyState
from og_chat.sdk import embedded
from og_chat.sdk.opg import opg_display
from og_chat.sdk.types import Receipt, settlement_mode
from og_chat.store.paths import data_dir
from og_chat.store.query import ReceiptQuery, parse_since
from og_chat.store.receipt_files import export_csv, export_json, read_receipts_file
from og_chat.store.receipt_records import receipt_problem
from og_chat.store.receipts import ReceiptNotFound, ReceiptStore

from .connect import devnet_url, with_runtime
from .output import (
    EXIT_CHAIN_RESET,
    EXIT_OK,
    EXIT_PENDING,
    EXIT_VERIFY,
    inert,
    local_time,
    note,
    out,
    out_json,
    progress,
    short,
    tee_mark,
    warn,
    write_or_print,
)

SHOWN_OUTPUT_CHARS = 400
"""`receipts show` cuts a longer answer here (`--json` keeps it whole)."""


def _filtered(args: argparse.Namespace) -> list[Receipt]:
    store = ReceiptStore()
    receipts = store.filter(
        ReceiptQuery(
            model=args.model or "",
            provider=args.provider or "",
            mode=settlement_mode(args.mode).value if args.mode else "",
            status=args.status or "",
            since=parse_since(args.since),
        )
    )
    for warning in store.warnings:
        warn(str(warning))
    return receipts


def _sound(receipts: list[Receipt]) -> list[Receipt]:
    """The receipts fit to show; each one that is not (a bad field in the log: `created_at`
    NaN, `total_tokens` null, ...) is reported and skipped."""
    kept = []
    for r in receipts:
        problem = receipt_problem(r)
        if problem is None:
            kept.append(r)
        else:
            warn(f"receipt {str(r.id)[:12]} skipped: {problem}")
    return kept


def cmd_list(args: argparse.Namespace) -> int:
    """A table (or JSON list) of receipts, oldest first."""
    receipts = _sound(_filtered(args))
    if args.json:
        out_json([r.to_dict() for r in receipts])
        return EXIT_OK
    if not receipts:
        note('no receipts yet: `og-chat ask "hello"` makes one')
        return EXIT_OK
    out(
        f"{'ID':<12}  {'TIME':<16}  {'MODEL':<34}  {'MODE':<10}  {'TOKENS':>6}  "
        f"{'COST OPG':>12}  TEE  {'STATUS':<8}  {'RECORD':<8}  PAYMENT HASH"
    )
    for r in receipts:
        cost = opg_display(receipt_cost(r))
        out(
            f"{r.id[:12]:<12}  {local_time(r.created_at):<16}  {r.model[:34]:<34}  "
            f"{r.settlement_mode:<10}  {r.total_tokens:>6}  {cost:>12}  {tee_mark(r):<3}  "
            f"{r.payment_status:<8}  {_record_state(r):<8}  {short(r.payment_hash, 14)}"
        )
    return EXIT_OK


def _record_state(receipt: Receipt) -> str:
    """Where the call's own record stands, as the tracker last saw it."""
    if receipt.record_block is not None:
        return "on-chain"
    return "pending" if receipt.payment_hash and receipt.output_hash else "none"


def cmd_show(args: argparse.Namespace) -> int:
    """Every field of one receipt."""
    receipt = ReceiptStore().get(args.id)
    problem = receipt_problem(receipt)
    if problem is not None:
        raise ReceiptNotFound(
            f"receipt {receipt.id[:12]} cannot be shown: {problem}",
            hint="the receipt log holds a damaged record; `receipts export --format json` "
            "shows it as stored",
        )
    data = receipt.to_dict()
    if args.json:
        out_json(data)
        return EXIT_OK
    width = max(len(k) for k in data)
    for key, value in data.items():
        if value is None or value == []:
            continue
        if key == "created_at":
            value = f"{datetime.fromtimestamp(float(value), UTC).isoformat()} ({value})"
        elif isinstance(value, list | dict):
            value = json.dumps(value)
        elif key == "output_text":
            text = str(value)
            if len(text) > SHOWN_OUTPUT_CHARS:
                value = text[:SHOWN_OUTPUT_CHARS] + f"… ({len(text)} chars)"
        out(f"{key:<{width}}  {inert(str(value))}")
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    """JSON (an array of receipt objects) or CSV, to stdout or a file."""
    if args.ids:
        store = ReceiptStore()
        receipts = [store.get(i) for i in args.ids]
    else:
        receipts = _filtered(args)
    text = export_csv(receipts) if args.format == "csv" else export_json(receipts) + "\n"
    write_or_print(text, args.out, wrote=f"wrote {len(receipts)} receipt(s) to {args.out}")
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    """One line per check and the verdict; the exit code says which (docs/cli.md)."""
    receipts = _verify_targets(args.target)
    rpc: str | None = args.rpc_url
    if rpc is None:
        url = devnet_url(args)
        if url:
            rpc = url + "/rpc"
    kept = None if rpc is not None or args.offline else _kept_embedded_chain(receipts)
    if kept is None:
        return _verify(args, receipts, rpc)
    # og-chat, whose embedded devnet made these receipts, has quit: serve its kept chain
    with progress("starting the embedded devnet's kept chain…"):
        devnet = embedded.start(state_dir=kept)
    try:
        return _verify(args, receipts, devnet.url + "/rpc")
    finally:
        embedded.stop(devnet)


def _kept_embedded_chain(receipts: list[Receipt]) -> Path | None:
    """The embedded devnet's chain kept in the data directory, when the receipts are devnet
    receipts from 127.0.0.1 and none of their devnets answers any more: the og-chat that
    served it has quit (a running og-chat still answers at the receipt's own address)."""
    kept = data_dir() / "devnet"
    if not receipts or not kept.is_dir() or any(r.network != "devnet" for r in receipts):
        return None
    endpoints = {r.endpoint for r in receipts}
    if any(not _loopback(url) or _listening(url) for url in endpoints):
        return None
    return kept


def _loopback(url: str) -> bool:
    return urlsplit(url).hostname in ("127.0.0.1", "localhost", "::1")


def _listening(url: str) -> bool:
    """Whether anything accepts a connection at `url`'s port (refused at once if not)."""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), 1):
            return True
    except OSError:
        return False


def _verify(args: argparse.Namespace, receipts: list[Receipt], rpc: str | None) -> int:
    report = []
    states = []
    with Verifier(rpc_url=rpc, offline=args.offline) as verifier:
        for receipt in receipts:
            with progress("reading the chain…"):
                result = verifier.verify(receipt)
            states.append(result.state)
            if args.json:
                report.append(_verification_json(result))
                continue
            if len(receipts) > 1:
                out(f"receipt {inert(receipt.id)}")
            for c in result.checks:
                out(inert(f"{check_mark(c)} {c.name}: {c.detail}"))
            out(inert(_VERDICTS[result.state]))
    if args.json:
        out_json(report if len(receipts) > 1 else report[0])
    return _exit_for(states)


_VERDICTS = {
    VerifyState.VERIFIED: "verified",
    VerifyState.PENDING: "pending: not all of it is on-chain yet (see ⧗ above); verify again then",
    VerifyState.CHAIN_RESET: "chain reset: cannot be checked",
    VerifyState.FAILED: "failed: the receipt does not match what was signed or what the chain holds",
}


def _exit_for(states: list[VerifyState]) -> int:
    """The worst verdict's exit code: failed, then chain reset, then pending."""
    for state, code in (
        (VerifyState.FAILED, EXIT_VERIFY),
        (VerifyState.CHAIN_RESET, EXIT_CHAIN_RESET),
        (VerifyState.PENDING, EXIT_PENDING),
    ):
        if state in states:
            return code
    return EXIT_OK


def _verification_json(result: Verification) -> dict[str, object]:
    return {
        "id": result.receipt.id,
        "payment_hash": result.receipt.payment_hash,
        "state": result.state.value,
        "ok": result.state is VerifyState.VERIFIED,
        "checks": [
            {"name": c.name, "ok": c.ok, "mark": check_mark(c), "detail": c.detail}
            for c in result.checks
        ],
    }


def _verify_targets(target: str) -> list[Receipt]:
    """The receipts `target` names: a file of them, a receipt id (prefix), or the
    payment_hash (or call id) of one this machine holds."""
    path = Path(target)
    if path.is_file():
        return read_receipts_file(path)
    store = ReceiptStore()
    try:
        return [store.get(target)]
    except ReceiptNotFound:
        wanted = target.strip().lower()
        if not (wanted.startswith("0x") and len(wanted) == 66):
            raise
    found = [
        r
        for r in store.load()
        if wanted in ((r.payment_hash or "").lower(), (r.call_id or "").lower())
    ]
    if not found:
        raise ReceiptNotFound(
            f"no receipt with payment_hash {wanted} in {store.path}",
            hint="anyone can read the record itself with a JSON-RPC client: see README, "
            "'Look a payment_hash up'",
        )
    return found


@with_runtime(top_up=False)
async def cmd_sync(args: argparse.Namespace, runtime: Runtime) -> int:
    """Attach settlements and proofs now (the TUI does this in the background)."""
    updates: list[tuple[str, EventFields]] = []
    tracker = SettlementTracker(
        runtime, on_update=lambda rid, fields: updates.append((rid, fields))
    )
    deadline = time.monotonic() + max(0.0, args.wait)
    with progress("looking for settlements…"):
        while True:
            await tracker.poll_once()
            if not tracker.outstanding() or time.monotonic() >= deadline:
                break
            await asyncio.sleep(min(1.0, max(0.1, deadline - time.monotonic())))
    for rid, fields in updates:
        what = ", ".join(sorted(fields))
        status = fields.get("payment_status", "proof attached")
        out(f"{rid[:12]}  {status}  ({what})")
    left = len(tracker.outstanding())
    note(f"{len(updates)} update(s); {left} receipt(s) still waiting")
    return EXIT_OK

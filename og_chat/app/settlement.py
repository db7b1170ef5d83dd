"""Turn pending receipts into settled ones, in the background.

A paid call returns before its payment settles: the gateway settles an upto
session in one transfer once it is idle or exhausted (og-sdk-wire.md §5.7),
so the receipt first carries the authorization digest as `payment_hash`.
The tracker finds the settlement afterwards and appends it as an event:

1. `PAYMENT-RESPONSE` — already folded into the receipt by the client.
2. The devnet's `GET /v1/payments?payer=&nonce=` — the gateway's own record.
3. On-chain — the Permit2 nonce is consumed, then the OPG `Transfer`
   payer → payTo in recent blocks whose transaction carries that nonce.

For `batch` receipts it also fetches the Merkle proof (devnet
`GET /v1/settlements/{request_hash}`) and records it only after the proof
leads from this receipt's own leaf to a root the chain has stored.

Nothing here imports Textual or Rich; chain and HTTP work stays off the
event loop (httpx.AsyncClient, asyncio.to_thread).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from og_chat.sdk.addresses import DEVNET_SETTLEMENT
from og_chat.sdk.chain import opg_text
from og_chat.sdk.networks import NetworkProfile
from og_chat.sdk.pricing import table_cost
from og_chat.sdk.types import PaymentStatus, Receipt

log = logging.getLogger("og_chat.app.settlement")

UpdateCallback = Callable[[str, dict[str, Any]], object]

LOG_LOOKBACK_BLOCKS = 5_000
"""How far back the on-chain fallback searches for the payment transfer (never from block 0)."""

TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
"""keccak("Transfer(address,address,uint256)")."""

_NONCE_BITMAP_ABI: list[dict[str, Any]] = [
    {
        "name": "nonceBitmap",
        "type": "function",
        "stateMutability": "view",
        "inputs": [{"name": "owner", "type": "address"}, {"name": "wordPos", "type": "uint256"}],
        "outputs": [{"name": "", "type": "uint256"}],
    }
]
BATCH_ROOTS_ABI: list[dict[str, Any]] = [
    {
        "name": "batchRoots",
        "type": "function",
        "stateMutability": "view",
        "inputs": [{"name": "", "type": "bytes32"}],
        "outputs": [{"name": "count", "type": "uint256"}, {"name": "timestamp", "type": "uint256"}],
    }
]


def settlement_address(profile: NetworkProfile) -> str | None:
    """The data-settlement contract of a network, when it has a known one (the devnet's)."""
    doc = profile.extra.get("devnet") if profile.extra else None
    if isinstance(doc, dict):
        address = (doc.get("contracts") or {}).get("settlement")
        if address:
            return str(address)
    if profile.extra and profile.extra.get("settlement"):
        return str(profile.extra["settlement"])
    if profile.name == "devnet":
        return DEVNET_SETTLEMENT
    return None


def web3_for(rpc_url: str) -> Any:
    """A Web3 over HTTP (web3 imported on first use)."""
    from web3 import HTTPProvider, Web3

    return Web3(HTTPProvider(rpc_url, request_kwargs={"timeout": 20}))


def batch_root_posted(w3: Any, settlement: str, root: str) -> bool:
    """Whether the settlement contract has stored `root` (`batchRoots(root).timestamp != 0`)."""
    from web3 import Web3

    contract = w3.eth.contract(address=Web3.to_checksum_address(settlement), abi=BATCH_ROOTS_ABI)
    _count, timestamp = contract.functions.batchRoots(bytes.fromhex(root.removeprefix("0x"))).call()
    return int(timestamp) != 0


def receipt_leaf(receipt: Receipt) -> str | None:
    """This receipt's batch leaf, recomputed from its own TEE fields (None if any is missing)."""
    from og_chat.sdk import merkle

    if not (
        receipt.tee_id and receipt.request_hash and receipt.output_hash and receipt.tee_signature
    ):
        return None
    if receipt.tee_timestamp is None:
        return None
    try:
        leaf = merkle.leaf_hash(
            tee_id=receipt.tee_id,
            request_hash=receipt.request_hash,
            output_hash=receipt.output_hash,
            tee_signature=receipt.tee_signature,
            tee_timestamp=receipt.tee_timestamp,
        )
    except ValueError:
        return None
    return "0x" + leaf.hex()


def parse_uint(value: Any) -> int:
    """A uint from a decimal or 0x-hex string (receipts keep nonces as text)."""
    text = str(value).strip()
    return int(text, 16) if text.lower().startswith("0x") else int(text)


def _word_int(data: bytes, index: int) -> int:
    return int.from_bytes(data[4 + 32 * index : 4 + 32 * (index + 1)], "big")


def find_payment_onchain(
    profile: NetworkProfile, receipt: Receipt, *, rpc_url: str | None = None
) -> dict[str, Any] | None:
    """Blocking: the transfer settling this receipt's authorization; None if not (yet) found.

    First the cheap test — is the Permit2 nonce consumed at all? — then the
    OPG `Transfer(payer → payTo)` logs of the last `LOG_LOOKBACK_BLOCKS`
    blocks. When a candidate transaction went to the upto proxy, its
    `settle(permit, amount, owner, …)` calldata must carry this nonce (the
    permit tuple is static, so the nonce is its third word); that tells two
    sessions of the same payer apart.
    """
    from web3 import Web3

    if not (receipt.payer and receipt.nonce and receipt.pay_to and receipt.asset):
        return None
    w3 = web3_for(rpc_url or profile.rpc_url)
    payer = Web3.to_checksum_address(receipt.payer)
    nonce = parse_uint(receipt.nonce)
    permit2 = w3.eth.contract(
        address=Web3.to_checksum_address(profile.permit2), abi=_NONCE_BITMAP_ABI
    )
    word = int(permit2.functions.nonceBitmap(payer, nonce >> 8).call())
    if not (word >> (nonce & 0xFF)) & 1:
        return None
    head = int(w3.eth.block_number)
    logs = w3.eth.get_logs(
        {
            "fromBlock": max(0, head - LOG_LOOKBACK_BLOCKS),
            "toBlock": head,
            "address": Web3.to_checksum_address(receipt.asset),
            "topics": [
                TRANSFER_TOPIC,
                _address_topic(receipt.payer),
                _address_topic(receipt.pay_to),
            ],
        }
    )
    proxies = profile.known_spenders
    fallback: dict[str, Any] | None = None
    for entry in reversed(list(logs)):
        tx_hash = _hex(entry["transactionHash"])
        amount = int.from_bytes(bytes(entry["data"]), "big") if entry["data"] else 0
        found = {"tx_hash": tx_hash, "amount": amount, "block_number": int(entry["blockNumber"])}
        tx = w3.eth.get_transaction(tx_hash)
        to = str(tx.get("to") or "").lower()
        data = bytes(tx.get("input") or b"")
        if to in proxies and len(data) >= 4 + 32 * 3:
            if _word_int(data, 2) == nonce:
                return found
            continue
        fallback = fallback or found  # a settlement path we cannot decode: newest transfer wins
    return fallback


def _address_topic(address: str) -> str:
    return "0x" + address.lower().removeprefix("0x").rjust(64, "0")


def _hex(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if hasattr(value, "to_0x_hex"):
        return str(value.to_0x_hex())
    text = str(value)
    return text if text.startswith("0x") else "0x" + text


class SettlementTracker:
    """Resolves pending payments and batch proofs for the receipts of one runtime.

    `runtime` needs `receipts` (a ReceiptStore), `record_event`, `network`,
    `devnet_url` and `llm.profile` — `og_chat.app.runtime.Runtime` has them all.
    `on_update(receipt_id, fields)` runs after every event recorded (the TUI
    refreshes its receipts table from it).
    """

    def __init__(self, runtime: Any, on_update: UpdateCallback | None = None) -> None:
        self.host = runtime
        self.on_update = on_update
        self._given_up: set[str] = set()
        """Batch receipts whose proof can never be attached (another call took the leaf)."""
        self._prices: dict[str, Any] | None = None

    async def run(self, interval: float = 2.0) -> None:
        """Poll until cancelled; one failing pass never stops the loop."""
        while True:
            try:
                await self.poll_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("settlement tracker pass failed")
            await asyncio.sleep(interval)

    def outstanding(self, receipts: list[Receipt] | None = None) -> list[Receipt]:
        """Receipts of this network that still wait for a payment or a batch proof."""
        receipts = receipts if receipts is not None else self.host.receipts.load()
        network = self.host.network
        return [
            r
            for r in receipts
            if r.network == network and (self._wants_payment(r) or self._wants_proof(r))
        ]

    @staticmethod
    def _wants_payment(r: Receipt) -> bool:
        return r.payment_status == PaymentStatus.PENDING.value and bool(r.payer and r.nonce)

    def _wants_proof(self, r: Receipt) -> bool:
        return (
            r.settlement_mode == "batch"
            and r.merkle_leaf is None
            and bool(r.request_hash)
            and r.error is None
            and r.id not in self._given_up
            and self.host.devnet_url is not None
        )

    async def poll_once(self) -> int:
        """One pass over the outstanding receipts; returns how many events were recorded."""
        receipts = await asyncio.to_thread(self.host.receipts.load)
        todo = self.outstanding(receipts)
        if not todo:
            return 0
        import httpx

        recorded = 0
        async with httpx.AsyncClient(timeout=15) as http:
            for receipt in todo:
                fields: dict[str, Any] = {}
                if self._wants_payment(receipt):
                    fields.update(await self._resolve_payment(http, receipt))
                if self._wants_proof(receipt):
                    fields.update(await self._resolve_proof(http, receipt))
                if fields:
                    await asyncio.to_thread(self.host.record_event, receipt.id, **fields)
                    recorded += 1
                    if self.on_update is not None:
                        self.on_update(receipt.id, fields)
        return recorded

    # -- payments ----------------------------------------------------------------

    async def _resolve_payment(self, http: Any, receipt: Receipt) -> dict[str, Any]:
        url = self.host.devnet_url
        if url:
            try:
                resp = await http.get(
                    url.rstrip("/") + "/v1/payments",
                    params={"payer": receipt.payer, "nonce": receipt.nonce},
                )
            except Exception as exc:  # the devnet may be gone; fall back to the chain
                log.debug("payment lookup failed: %s", exc)
            else:
                if resp.status_code == 200:
                    return await self._from_record(http, receipt, resp.json())
        profile = self.host.profile
        try:
            found = await asyncio.to_thread(find_payment_onchain, profile, receipt)
        except Exception as exc:
            log.debug("on-chain payment lookup failed: %s", exc)
            return {}
        if found is None:
            return {}
        return self._settled(receipt, found["tx_hash"], found["amount"], calls=None)

    async def _from_record(
        self, http: Any, receipt: Receipt, record: dict[str, Any]
    ) -> dict[str, Any]:
        status = record.get("status")
        if status == "settled" and record.get("tx_hash"):
            calls = record.get("calls")
            return self._settled(
                receipt,
                str(record["tx_hash"]),
                int(record.get("amount") or 0),
                calls=int(calls) if calls is not None else None,
                prices=await self._devnet_prices(http),
            )
        if status == "failed":
            return {
                "payment_status": PaymentStatus.FAILED.value,
                "error": f"settlement failed: {record.get('error') or 'unknown reason'}",
            }
        return {}

    def _settled(
        self,
        receipt: Receipt,
        tx_hash: str,
        amount: int,
        *,
        calls: int | None,
        prices: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The event for a found settlement.

        One transfer settles a whole upto session. When the session held this
        call alone the transfer amount is the call's charge; otherwise the
        call's share is its price × usage from the devnet price table.
        """
        fields: dict[str, Any] = {
            "payment_status": PaymentStatus.SETTLED.value,
            "payment_tx": tx_hash,
            "payment_hash": tx_hash,
        }
        charged: int | None = amount if calls == 1 else None
        if charged is None:
            charged = table_cost(
                prices, receipt.model, receipt.prompt_tokens, receipt.completion_tokens
            )
        if charged is not None:
            fields["charged_opg"] = opg_text(charged)
        return fields

    async def _devnet_prices(self, http: Any) -> dict[str, Any] | None:
        if self._prices is None and self.host.devnet_url:
            try:
                resp = await http.get(self.host.devnet_url.rstrip("/") + "/devnet")
                self._prices = dict(resp.json().get("prices") or {})
            except Exception:
                return None
        return self._prices

    # -- batch proofs --------------------------------------------------------------

    async def _resolve_proof(self, http: Any, receipt: Receipt) -> dict[str, Any]:
        url = self.host.devnet_url
        assert url is not None and receipt.request_hash is not None
        key = receipt.request_hash.lower().removeprefix("0x")
        try:
            resp = await http.get(f"{url.rstrip('/')}/v1/settlements/{key}")
        except Exception as exc:
            log.debug("proof lookup failed: %s", exc)
            return {}
        if resp.status_code != 200:
            return {}
        doc = resp.json()
        if doc.get("status") != "posted" or not doc.get("root"):
            return {}
        mine = receipt_leaf(receipt)
        if mine is None or str(doc.get("leaf", "")).lower() != mine:
            # The gateway keys leaves by request hash; an identical later request took it.
            self._given_up.add(receipt.id)
            return {}
        return await asyncio.to_thread(self._checked_proof, mine, doc)

    def _checked_proof(self, leaf: str, doc: dict[str, Any]) -> dict[str, Any]:
        """Record the proof only if it leads to the root and the chain holds that root."""
        from og_chat.sdk import merkle

        proof = [str(p) for p in doc.get("proof") or []]
        root = str(doc["root"])
        if not merkle.verify_proof(leaf, proof, root):
            log.warning("devnet sent a Merkle proof that does not lead to its root %s", root)
            return {}
        profile = self.host.profile
        settlement = settlement_address(profile)
        if settlement is None:
            return {}
        try:
            posted = batch_root_posted(web3_for(profile.rpc_url), settlement, root)
        except Exception as exc:
            log.debug("batchRoots lookup failed: %s", exc)
            return {}
        if not posted:
            return {}
        return {
            "merkle_leaf": leaf,
            "merkle_proof": proof,
            "batch_root": root,
            "batch_root_tx": doc.get("tx_hash"),
        }

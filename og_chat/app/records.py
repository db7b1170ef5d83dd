"""A call's own on-chain record, found from its `payment_hash` alone with plain JSON-RPC.

What `og-chat receipts verify` reads, and what anyone with `curl` can read too:

- **individual**: `eth_getTransactionReceipt(payment_hash)` — the call's own
  `settleIndividual` transaction, whose calldata holds the model id, the input (the
  canonical request as UTF-8 JSON) and the output text;
- **batch**: `eth_getLogs` with topics `[BatchLeaf, payment_hash]` — the leaf, in the
  transaction that posted its Merkle root (whose `BatchLeaf` events rebuild that root);
- **private**: `eth_getLogs` with topics `[CallRecorded, payment_hash]` — hashes only.

`ChainReader` keeps one HTTP connection and caches what many receipts share (a batch's
root transaction, a session's payment transaction, the genesis block), so verifying a
thousand receipts costs a few requests each. Blocking: run it in a thread from async code.
httpx and eth_abi are imported on first use.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from og_chat.sdk import merkle, rpc
from og_chat.sdk.errors import ChainError
from og_chat.sdk.eth import keccak

from .onchain import topic_hex

# The events' topics and the selector, written out (each is keccak of its signature; tests
# check it): computing them at import loaded the keccak backend on every face's start.
CALL_RECORDED = "0x18877f18eedce50074f48d0a5eced374632f1e6bef188ae4688e37dd30de37a9"
"""topic 0 of `CallRecorded(bytes32,bytes32,bytes32,bytes32,uint256,bytes32)`."""
BATCH_LEAF = "0x7fe94bc14fc8323288fe287006367951e971ea2955d2a488868656d892e1805b"
"""topic 0 of `BatchLeaf(bytes32,bytes32,bytes32,uint256)`."""
BATCH_SETTLED = "0x5904095e03bb06c45ce8e4e6184b1f4190e644f54353c5e1009a45286f1fdd58"
"""topic 0 of `BatchSettled(bytes32,uint256,uint256)`."""
INDIVIDUAL_SETTLED = "0x0c33a4f96f0d91e4f27fe6d8de30e41792dfea35fcdc1a82143d799318bb1f38"
"""topic 0 of `IndividualSettled(bytes32,bytes32,bytes32,bytes32,string,uint256,uint256,uint256,
bytes)`."""
INDIVIDUAL_CALL = "(bytes32,string,string,string,uint256,uint256,bytes32,bytes32,uint256,bytes)"
SETTLE_INDIVIDUAL = "0xb8f07de0"
"""The selector of `settleIndividual(INDIVIDUAL_CALL)`."""
EVENT_SIGNATURES = {
    CALL_RECORDED: "CallRecorded(bytes32,bytes32,bytes32,bytes32,uint256,bytes32)",
    BATCH_LEAF: "BatchLeaf(bytes32,bytes32,bytes32,uint256)",
    BATCH_SETTLED: "BatchSettled(bytes32,uint256,uint256)",
    INDIVIDUAL_SETTLED: (
        "IndividualSettled(bytes32,bytes32,bytes32,bytes32,string,uint256,uint256,uint256,bytes)"
    ),
}
"""Each topic above and the event signature it is the keccak of."""
RPC_TIMEOUT = 20.0


@dataclass(frozen=True)
class CallRecord:
    """One call's record as the chain holds it (hex fields `0x` lower case)."""

    mode: str
    """private | batch | individual"""
    tx_hash: str
    block_number: int
    call_id: str
    tee_id: str
    request_hash: str | None = None
    output_hash: str | None = None
    tee_timestamp: int | None = None
    signature_hash: str | None = None
    """keccak of the TEE signature's bytes (private, batch: folded into the leaf)."""
    model: str | None = None
    input: str | None = None
    output: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    signature: bytes | None = None
    leaf: str | None = None
    root: str | None = None
    root_checked: bool = False
    """batch: the root transaction's `BatchLeaf` events rebuild `root`, and it posted it."""


class ChainReader:
    """Plain JSON-RPC reads of one chain, over one connection, with the shared ones cached."""

    def __init__(self, rpc_url: str, *, verify: bool | str = True) -> None:
        import httpx

        self.rpc_url = rpc_url
        self._http = httpx.Client(timeout=RPC_TIMEOUT, verify=verify)
        self._receipts: dict[str, dict[str, Any] | None] = {}
        self._genesis: str | None = None

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ChainReader:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def call(self, method: str, params: list[Any]) -> Any:
        """One JSON-RPC call's result; ChainError when the node fails or answers an error."""
        return rpc.call_over(self._http.post, self.rpc_url, method, params)

    def genesis_hash(self) -> str:
        """Block 0's hash: which chain this is (a reset devnet has a new instance, maybe not a
        new genesis; the gateway's `/devnet` instance id tells those apart)."""
        if self._genesis is None:
            block = self.call("eth_getBlockByNumber", ["0x0", False])
            if not isinstance(block, dict) or not isinstance(block.get("hash"), str):
                raise ChainError(f"{self.rpc_url} has no block 0")
            self._genesis = str(block["hash"]).lower()
        return self._genesis

    def receipt(self, tx_hash: str) -> dict[str, Any] | None:
        """A mined transaction's receipt (cached once mined); None while it is not mined."""
        key = tx_hash.lower()
        if key in self._receipts:
            return self._receipts[key]
        found = self.call("eth_getTransactionReceipt", [key])
        mined = found if isinstance(found, dict) and found.get("blockNumber") else None
        if mined is not None:
            self._receipts[key] = mined
        return mined

    def transaction(self, tx_hash: str) -> dict[str, Any] | None:
        """A transaction the chain knows (mined or pending); None if it knows none."""
        found = self.call("eth_getTransactionByHash", [tx_hash.lower()])
        return found if isinstance(found, dict) else None

    def logs_by_topic(self, topics: list[Any], address: str | None = None) -> list[dict[str, Any]]:
        """`eth_getLogs` from `earliest` to `latest` by topic (no range limit for topics)."""
        query: dict[str, Any] = {"fromBlock": "earliest", "toBlock": "latest", "topics": topics}
        if address:
            query["address"] = address
        found = self.call("eth_getLogs", [query])
        return [entry for entry in found or [] if isinstance(entry, dict)]


def find_record(reader: ChainReader, payment_hash: str, settlement: str) -> CallRecord | None:
    """The record `payment_hash` names on the settlement contract; None when the chain holds
    none yet (or none at all). ChainError when the RPC cannot be read."""
    key = topic_hex(payment_hash)
    mined = reader.receipt(key)
    if mined is not None:
        return _individual(reader, key, mined, settlement)
    topics = [[CALL_RECORDED, BATCH_LEAF, INDIVIDUAL_SETTLED], key]
    logs = [
        entry
        for entry in reader.logs_by_topic(topics, settlement)
        if str(entry.get("address", "")).lower() == settlement.lower()
    ]
    for entry in logs:
        kind = entry["topics"][0]
        if kind == CALL_RECORDED:
            return _private(entry)
        if kind == BATCH_LEAF:
            return _batch(reader, entry, settlement)
        if kind == INDIVIDUAL_SETTLED:  # looked up by the call id rather than the tx hash
            tx = str(entry["transactionHash"]).lower()
            receipt = reader.receipt(tx)
            if receipt is not None:
                return _individual(reader, tx, receipt, settlement)
    return None


def signature_hash(tee_signature: str) -> str:
    """keccak of a base64 TEE signature's bytes, `0x` hex; ValueError when not base64."""
    return "0x" + keccak(base64.b64decode(tee_signature, validate=True)).hex()


def request_hash_of(canonical_input: str) -> str:
    """The TEE's request hash of an individual record's input (keccak of its ASCII-escaped,
    key-sorted JSON, as the TEE signs it), hex without `0x`; ValueError when not JSON."""
    return keccak(json.dumps(json.loads(canonical_input), sort_keys=True).encode()).hex()


# -- decoding ---------------------------------------------------------------------------


def _words(data: str) -> list[str]:
    raw = bytes.fromhex(str(data).removeprefix("0x"))
    return ["0x" + raw[i : i + 32].hex() for i in range(0, len(raw), 32)]


def _private(entry: dict[str, Any]) -> CallRecord:
    request, output, timestamp, sig_hash = _words(entry["data"])[:4]
    return CallRecord(
        mode="private",
        tx_hash=str(entry["transactionHash"]).lower(),
        block_number=int(entry["blockNumber"], 16),
        call_id=entry["topics"][1],
        tee_id=entry["topics"][2],
        request_hash=request,
        output_hash=output,
        tee_timestamp=int(timestamp, 16),
        signature_hash=sig_hash,
    )


def _batch(reader: ChainReader, entry: dict[str, Any], settlement: str) -> CallRecord:
    tx = str(entry["transactionHash"]).lower()
    root = entry["topics"][2]
    leaf, _index = _words(entry["data"])[:2]
    mined = reader.receipt(tx)
    checked = False
    if mined is not None and int(str(mined.get("status", "0x0")), 16) == 1:
        ours = [
            log
            for log in mined.get("logs") or []
            if str(log.get("address", "")).lower() == settlement.lower()
        ]
        leaves = {
            int(_words(log["data"])[1], 16): bytes.fromhex(_words(log["data"])[0][2:])
            for log in ours
            if log["topics"][0] == BATCH_LEAF and log["topics"][2] == root
        }
        posted = any(log["topics"][0] == BATCH_SETTLED and log["topics"][1] == root for log in ours)
        if posted and sorted(leaves) == list(range(len(leaves))):
            rebuilt = merkle.build_levels([leaves[i] for i in range(len(leaves))])[-1][0]
            checked = "0x" + rebuilt.hex() == root
    return CallRecord(
        mode="batch",
        tx_hash=tx,
        block_number=int(entry["blockNumber"], 16),
        call_id=entry["topics"][1],
        tee_id="",
        leaf=leaf,
        root=root,
        root_checked=checked,
    )


def _individual(
    reader: ChainReader, tx_hash: str, mined: dict[str, Any], settlement: str
) -> CallRecord | None:
    """The `settleIndividual` call of a mined transaction; None when it is no such call."""
    from eth_abi.abi import decode

    if int(str(mined.get("status", "0x0")), 16) != 1:
        return None
    tx = reader.transaction(tx_hash)
    calldata = str((tx or {}).get("input") or "")
    if str((tx or {}).get("to") or "").lower() != settlement.lower():
        return None
    if not calldata.startswith(SETTLE_INDIVIDUAL):
        return None
    try:
        (call,) = decode([INDIVIDUAL_CALL], bytes.fromhex(calldata[10:]))
    except Exception:  # eth_abi's decoding errors: not the call it claims to be
        return None
    call_id, model, text_in, text_out, prompt, completion, tee_id, request, ts, sig = call
    return CallRecord(
        mode="individual",
        tx_hash=tx_hash.lower(),
        block_number=int(str(mined["blockNumber"]), 16),
        call_id="0x" + bytes(call_id).hex(),
        tee_id="0x" + bytes(tee_id).hex(),
        request_hash="0x" + bytes(request).hex(),
        output_hash="0x" + keccak(str(text_out).encode()).hex(),
        tee_timestamp=int(ts),
        model=str(model),
        input=str(text_in),
        output=str(text_out),
        prompt_tokens=int(prompt),
        completion_tokens=int(completion),
        signature=bytes(sig),
    )

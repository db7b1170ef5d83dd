"""What the settlement tracker and `receipts verify` read from the chain, written once.

Both need the same facts: where a network's data-settlement contract is, whether a
batch root was posted there, which transfer settled a payment authorization, and how
an event topic compares with an address or a hash. The tracker (`settlement.py`)
reads them to attach settlements; the verifier (`verify.py`) to check them. Neither
imports the other; both import this.

Blocking calls (they go through web3 over HTTP): run them in a thread from async
code. web3 is imported by `og_chat.sdk.eth.web3_http`, on first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from og_chat.sdk.addresses import DEVNET_SETTLEMENT
from og_chat.sdk.eth import checksum, hex0x, keccak, parse_uint, web3_http, word
from og_chat.sdk.networks import NetworkProfile
from og_chat.sdk.types import Receipt

if TYPE_CHECKING:
    from eth_typing import ChecksumAddress, HexStr
    from web3 import Web3

LOG_LOOKBACK_BLOCKS = 5_000
"""How far back the payment lookup searches for the transfer (never from block 0)."""

TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
"""keccak("Transfer(address,address,uint256)"): the ERC-20 `Transfer` event's topic 0."""

_NONCE_BITMAP_ABI: list[dict[str, Any]] = [
    {
        "name": "nonceBitmap",
        "type": "function",
        "stateMutability": "view",
        "inputs": [{"name": "owner", "type": "address"}, {"name": "wordPos", "type": "uint256"}],
        "outputs": [{"name": "", "type": "uint256"}],
    }
]
_BATCH_ROOTS_ABI: list[dict[str, Any]] = [
    {
        "name": "batchRoots",
        "type": "function",
        "stateMutability": "view",
        "inputs": [{"name": "", "type": "bytes32"}],
        "outputs": [{"name": "count", "type": "uint256"}, {"name": "timestamp", "type": "uint256"}],
    }
]


@dataclass(frozen=True, slots=True)
class FoundPayment:
    """The transfer that settled a payment authorization."""

    tx_hash: str
    amount: int
    """Base units moved payer → payTo (a whole upto session's charge)."""
    block_number: int


def address(value: str) -> ChecksumAddress:
    """`value` in the checksum form web3 insists on; ValueError if it is not an address."""
    return cast("ChecksumAddress", checksum(value))


def tx_hash(value: str) -> HexStr:
    """A transaction hash from a receipt, typed as web3 takes it (web3 checks the text)."""
    return cast("HexStr", value)


def topic_hex(value: bytes | str) -> str:
    """An event topic (or a hash, an id) as 32-byte `0x` hex, for comparing with another."""
    return hex0x(word(bytes(value) if not isinstance(value, str) else value))


def topic_address(value: bytes | str) -> str:
    """The lower-case address an indexed `address` topic holds."""
    return "0x" + topic_hex(value)[-40:]


def event_topic(signature: str) -> str:
    """Topic 0 of an event, from its signature such as `Transfer(address,address,uint256)`."""
    return "0x" + keccak(signature.encode()).hex()


def settlement_address(profile: NetworkProfile) -> str | None:
    """The data-settlement contract of a network, when it has a known one (the devnet's)."""
    doc = profile.extra.get("devnet") if profile.extra else None
    if isinstance(doc, dict):
        found = (doc.get("contracts") or {}).get("settlement")
        if found:
            return str(found)
    if profile.extra and profile.extra.get("settlement"):
        return str(profile.extra["settlement"])
    if profile.name == "devnet":
        return DEVNET_SETTLEMENT
    return None


def batch_root_posted(w3: Web3, settlement: str, root: str) -> bool:
    """Whether the settlement contract stored `root` (`batchRoots(root).timestamp != 0`)."""
    contract = w3.eth.contract(address=address(settlement), abi=_BATCH_ROOTS_ABI)
    _count, timestamp = contract.functions.batchRoots(word(root)).call()
    return int(timestamp) != 0


def nonce_used(w3: Web3, profile: NetworkProfile, payer: str, nonce: int) -> bool:
    """Whether Permit2 has consumed `payer`'s unordered `nonce` (its `nonceBitmap` bit)."""
    permit2 = w3.eth.contract(address=address(profile.permit2), abi=_NONCE_BITMAP_ABI)
    bitmap = int(permit2.functions.nonceBitmap(address(payer), nonce >> 8).call())
    return bool((bitmap >> (nonce & 0xFF)) & 1)


def authorization_dead(profile: NetworkProfile, receipt: Receipt, now: float) -> bool:
    """True when the receipt's authorization can never pay: its deadline has passed (Permit2
    refuses it from then on) and its nonce was never used. Blocking (one chain read)."""
    if not (receipt.payer and receipt.nonce and isinstance(receipt.deadline, int)):
        return False
    if receipt.deadline >= now:
        return False
    w3 = web3_http(profile.rpc_url)
    return not nonce_used(w3, profile, receipt.payer, parse_uint(receipt.nonce))


def find_payment_onchain(
    profile: NetworkProfile, receipt: Receipt, *, rpc_url: str | None = None
) -> FoundPayment | None:
    """The transfer settling this receipt's authorization; None if not (yet) found.

    First the cheap test — is the Permit2 nonce consumed at all? — then the
    OPG `Transfer(payer → payTo)` logs of the last `LOG_LOOKBACK_BLOCKS`
    blocks. When a candidate transaction went to the upto proxy, its
    `settle(permit, amount, owner, …)` calldata must carry this nonce (the
    permit tuple is static, so the nonce is its third word); that tells two
    sessions of the same payer apart.
    """
    if not (receipt.payer and receipt.nonce and receipt.pay_to and receipt.asset):
        return None
    w3 = (
        web3_http(rpc_url, verify=True)
        if rpc_url
        else web3_http(profile.rpc_url, verify=profile.rpc_verify)
    )
    nonce = parse_uint(receipt.nonce)
    if not nonce_used(w3, profile, receipt.payer, nonce):
        return None
    head = int(w3.eth.block_number)
    logs = w3.eth.get_logs(
        {
            "fromBlock": max(0, head - LOG_LOOKBACK_BLOCKS),
            "toBlock": head,
            "address": address(receipt.asset),
            "topics": [TRANSFER_TOPIC, topic_hex(receipt.payer), topic_hex(receipt.pay_to)],
        }
    )
    proxies = profile.known_spenders
    fallback: FoundPayment | None = None
    for entry in reversed(list(logs)):
        tx_hash = hex0x(entry["transactionHash"])
        data = bytes(entry["data"])
        found = FoundPayment(
            tx_hash, int.from_bytes(data, "big") if data else 0, int(entry["blockNumber"])
        )
        tx = w3.eth.get_transaction(entry["transactionHash"])
        to = str(tx.get("to") or "").lower()
        calldata = bytes(tx.get("input") or b"")
        if to in proxies and len(calldata) >= 4 + 32 * 3:
            if int.from_bytes(calldata[4 + 64 : 4 + 96], "big") == nonce:
                return found
            continue
        fallback = fallback or found  # a settlement path we cannot decode: newest transfer wins
    return fallback

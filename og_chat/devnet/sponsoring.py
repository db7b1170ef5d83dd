"""Gas-sponsored Permit2 approval (`erc20ApprovalGasSponsoring`), the facilitator's side.

A payer who never approved Permit2 may put a signed `approve(Permit2, amount)`
transaction in the payment's `extensions`; the facilitator checks it, funds the payer's
gas when the payer has too little ETH, and broadcasts both just before the settlement,
in the same block (the spec's "atomic bundle": nothing can be mined in between).

The checks and reason strings are the reference facilitator's (x402 2.25
`extensions/erc20_approval_gas_sponsoring/facilitator.py`), in its order. The spec
(`specs/extensions/erc20_gas_sponsoring.md`) asks for more than the reference checks
offline, and so does this module: the chain id, the payer's current nonce, fees the
chain accepts, an approved amount that covers the payment. It also bounds what the
facilitator may be asked to fund (gas limit and fee cap), so a payer cannot turn
sponsorship into an ETH faucet.

Everything here runs on the chain's worker thread.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from og_chat.sdk.addresses import PERMIT2_ADDRESS
from og_chat.sdk.eth import checksum, from_hex, hex0x, keccak
from og_chat.sdk.networks import APPROVAL_SPONSORING
from og_chat.sdk.x402 import PaymentPayload

from .node import MAX_FEE_PER_GAS, Node, RpcError
from .operator import Operator

KEY = APPROVAL_SPONSORING
"""The extension's key in `PaymentRequired.extensions` and `PaymentPayload.extensions`."""
APPROVE_SELECTOR = bytes.fromhex("095ea7b3")
"""`approve(address,uint256)`."""
MAX_APPROVAL_GAS = 100_000
"""Highest gas limit sponsored (an OPG approval uses about 46,000; the reference signs 70,000)."""
MAX_SPONSORED_FEE_PER_GAS = 2 * MAX_FEE_PER_GAS
"""Highest fee cap sponsored: the sender must hold gas × fee cap, which the facilitator funds."""
FUNDING_GAS = 21_000

# The reference's reason strings.
FORMAT = "invalid_erc20_approval_extension_format"
FROM_MISMATCH = "erc20_approval_from_mismatch"
ASSET_MISMATCH = "erc20_approval_asset_mismatch"
SPENDER_NOT_PERMIT2 = "erc20_approval_spender_not_permit2"
TX_PARSE_FAILED = "erc20_approval_tx_parse_failed"
TX_INVALID_SIGNATURE = "erc20_approval_tx_invalid_signature"
TX_SIGNER_MISMATCH = "erc20_approval_tx_signer_mismatch"
TX_WRONG_TARGET = "erc20_approval_tx_wrong_target"
TX_WRONG_SELECTOR = "erc20_approval_tx_wrong_selector"
TX_INVALID_CALLDATA = "erc20_approval_tx_invalid_calldata"
TX_WRONG_SPENDER = "erc20_approval_tx_wrong_spender"
BROADCAST_FAILED = "erc20_approval_broadcast_failed"
# What the spec asks beyond the reference (same prefix, same style).
TX_WRONG_CHAIN = "erc20_approval_tx_wrong_chain"
TX_NONCE_MISMATCH = "erc20_approval_tx_nonce_mismatch"
TX_FEE_TOO_LOW = "erc20_approval_tx_fee_too_low"
TX_GAS_NOT_SPONSORED = "erc20_approval_tx_gas_not_sponsored"
TX_HAS_VALUE = "erc20_approval_tx_has_value"
AMOUNT_MISMATCH = "erc20_approval_amount_mismatch"
AMOUNT_INSUFFICIENT = "erc20_approval_amount_insufficient"

_HEX_ADDRESS = re.compile(r"^0x[a-fA-F0-9]{40}$")
_DECIMAL = re.compile(r"^[0-9]{1,78}$")
_HEX = re.compile(r"^0x[a-fA-F0-9]+$")
_VERSION = re.compile(r"^[0-9]+(\.[0-9]+)*$")
_REQUIRED = ("from", "asset", "spender", "amount", "signedTransaction")


class SponsorshipRefused(Exception):
    """The approval cannot be sponsored: the reason string and a message for people."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        self.message = message
        super().__init__(f"{reason}: {message}")


@dataclass(frozen=True)
class Sponsorship:
    """A checked approval, ready to broadcast before the settlement."""

    raw: bytes
    """The payer's signed transaction, byte for byte as received."""
    tx_hash: str
    payer: str
    amount: int
    """What it approves Permit2 to move."""
    funding: int
    """Wei the facilitator sends the payer first (0 when the payer can pay the gas)."""


def approval_info(payload: PaymentPayload) -> dict[str, str] | None:
    """The extension's `info`, when the payload carries one with every field a string.

    A malformed entry counts as absent, as in the reference: the payment then needs
    an on-chain allowance like any other.
    """
    entry = (payload.extensions or {}).get(KEY)
    info = entry.get("info") if isinstance(entry, dict) else None
    if not isinstance(info, dict) or not all(isinstance(info.get(k), str) for k in _REQUIRED):
        return None
    return {k: v for k, v in info.items() if isinstance(v, str)}


def check_approval(
    node: Node, info: dict[str, str], *, payer: str, token: str, needed: int
) -> Sponsorship:
    """Every check of one sponsored approval against the pending state; SponsorshipRefused."""
    version = info.get("version", "1")
    if not (
        _HEX_ADDRESS.match(info["from"])
        and _HEX_ADDRESS.match(info["asset"])
        and _HEX_ADDRESS.match(info["spender"])
        and _DECIMAL.match(info["amount"])
        and _HEX.match(info["signedTransaction"])
        and _VERSION.match(version)
    ):
        raise SponsorshipRefused(FORMAT, "an extension field does not match its schema")
    if info["from"].lower() != payer.lower():
        raise SponsorshipRefused(FROM_MISMATCH, "from does not match the payer")
    if info["asset"].lower() != token.lower():
        raise SponsorshipRefused(ASSET_MISMATCH, "asset does not match the payment's token")
    if info["spender"].lower() != PERMIT2_ADDRESS.lower():
        raise SponsorshipRefused(SPENDER_NOT_PERMIT2, f"spender must be Permit2 {PERMIT2_ADDRESS}")
    raw = from_hex(info["signedTransaction"])
    tx = _decode(raw, payer)
    if tx["to"] != token.lower():
        raise SponsorshipRefused(TX_WRONG_TARGET, "the transaction does not call the token")
    data: bytes = tx["data"]
    if data[:4] != APPROVE_SELECTOR:
        raise SponsorshipRefused(TX_WRONG_SELECTOR, "the transaction is not an approve() call")
    if len(data) < 68:
        raise SponsorshipRefused(TX_INVALID_CALLDATA, "approve() calldata is too short")
    if "0x" + data[16:36].hex() != PERMIT2_ADDRESS.lower() or any(data[4:16]):
        raise SponsorshipRefused(TX_WRONG_SPENDER, "the approved spender is not Permit2")
    amount = int.from_bytes(data[36:68], "big")
    if amount != int(info["amount"]):
        raise SponsorshipRefused(AMOUNT_MISMATCH, "the signed amount differs from `amount`")
    if amount < needed:
        raise SponsorshipRefused(
            AMOUNT_INSUFFICIENT, f"the approval covers {amount}, the payment needs {needed}"
        )
    if tx["value"]:
        raise SponsorshipRefused(TX_HAS_VALUE, "an approval transaction carries no ETH")
    _check_chain_fields(node, tx, payer)
    balance = int(node.eth.get_balance(checksum(payer), "pending"))
    cost = tx["gas"] * tx["fee_cap"]
    return Sponsorship(
        raw=raw,
        tx_hash=hex0x(keccak(raw)),
        payer=checksum(payer),
        amount=amount,
        funding=max(0, cost - balance),
    )


def broadcast(sponsorship: Sponsorship, operator: Operator) -> tuple[str, str] | None:
    """Worker: queue the gas funding and the approval, in that order, into the pending block.

    The settlement queued right after them joins the same block. A refusal (the chain
    rejects the approval: a nonce used meanwhile, say) is returned as (reason, message).
    """
    try:
        if sponsorship.funding:
            operator.queue(sponsorship.payer, b"", gas=FUNDING_GAS, value=sponsorship.funding)
        operator.node.queue_raw(sponsorship.raw)
    except RpcError as exc:
        return BROADCAST_FAILED, exc.message
    return None


def _decode(raw: bytes, payer: str) -> dict[str, Any]:
    """The signed transaction's fields (lower-case `to`, bytes `data`, a fee cap), signer checked."""
    from eth_account import Account
    from eth_account.typed_transactions.typed_transaction import TypedTransaction
    from hexbytes import HexBytes

    try:
        signer = str(Account.recover_transaction(raw))
    except Exception:
        raise SponsorshipRefused(TX_INVALID_SIGNATURE, "failed to recover the signer") from None
    if signer.lower() != payer.lower():
        raise SponsorshipRefused(TX_SIGNER_MISMATCH, "the transaction is not signed by the payer")
    try:
        typed: Any = TypedTransaction.from_bytes(HexBytes(raw)).transaction
        fields = typed.dictionary
        to = fields.get("to", b"")
        return {
            "to": ("0x" + bytes(to).hex() if isinstance(to, bytes) else str(to)).lower(),
            "data": bytes(fields.get("data", b"")),
            "value": int(fields.get("value", 0)),
            "nonce": int(fields["nonce"]),
            "gas": int(fields["gas"]),
            "fee_cap": int(fields.get("maxFeePerGas", fields.get("gasPrice", 0))),
            "chain_id": int(fields["chainId"]),
        }
    except Exception as exc:  # not a typed transaction, or a field missing
        raise SponsorshipRefused(TX_PARSE_FAILED, str(exc)[:200]) from None


def _check_chain_fields(node: Node, tx: dict[str, Any], payer: str) -> None:
    """What only the chain can tell: the chain id, the next nonce, the fees it accepts."""
    if tx["chain_id"] != node.chain_id:
        raise SponsorshipRefused(
            TX_WRONG_CHAIN, f"signed for chain {tx['chain_id']}, this is chain {node.chain_id}"
        )
    expected = node.pending_nonce(payer)
    if tx["nonce"] != expected:
        raise SponsorshipRefused(
            TX_NONCE_MISMATCH, f"signed with nonce {tx['nonce']}, the payer's next is {expected}"
        )
    if tx["gas"] > MAX_APPROVAL_GAS or tx["fee_cap"] > MAX_SPONSORED_FEE_PER_GAS:
        raise SponsorshipRefused(
            TX_GAS_NOT_SPONSORED,
            f"gas {tx['gas']} at {tx['fee_cap']} wei is more than this facilitator sponsors "
            f"({MAX_APPROVAL_GAS} at {MAX_SPONSORED_FEE_PER_GAS})",
        )
    base_fee = int(node.eth.get_block("pending").get("baseFeePerGas") or 0)
    if tx["fee_cap"] < base_fee:
        raise SponsorshipRefused(
            TX_FEE_TOO_LOW, f"fee cap {tx['fee_cap']} is below the base fee {base_fee}"
        )

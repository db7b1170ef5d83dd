"""`Receipt`: what was asked, what came back and what was paid, for one call.

Its own module, below the exceptions, so that an error can carry the receipt of
the call that failed (`errors.py` imports this; this imports nothing of ours).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import Enum
from typing import Any


class SignatureStatus(str, Enum):
    """Outcome of checking a response's `tee_signature`."""

    VERIFIED = "verified"
    """Signed by the key the TEE registry holds for this enclave."""
    FAILED = "failed"
    SELF_VOUCHED = "self_vouched"
    """Signed by the key the gateway itself serves (`/signing-key`): nothing independent
    vouches for that key, so this is not verified."""
    UNAVAILABLE = "unavailable"

    @property
    def description(self) -> str:
        """What the status means, in the words every face shows."""
        return _SIGNATURE_WORDS[self]


_SIGNATURE_WORDS = {
    SignatureStatus.VERIFIED: "verified",
    SignatureStatus.FAILED: "failed",
    SignatureStatus.SELF_VOUCHED: "unverified: the gateway vouches for itself",
    SignatureStatus.UNAVAILABLE: "not checked",
}


class PaymentStatus(str, Enum):
    """Where a call's payment stands."""

    SETTLED = "settled"
    PENDING = "pending"
    FAILED = "failed"
    REFUSED = "refused"
    EXPIRED = "expired"
    """The authorization's deadline passed and Permit2 never used its nonce: nothing was paid,
    and nothing can be any more."""


RECEIPT_SCHEMA = 1


@dataclass(frozen=True, slots=True)
class ChainMark:
    """Which chain a call paid on: what its receipt records to be checked against later."""

    chain_id: int | None = None
    genesis_hash: str | None = None
    instance_id: str | None = None


@dataclass
class Receipt:
    """What was asked, what came back and what was paid, for one call.

    Written before the call returns; later facts (settlement, proofs) are
    appended as events by the store, never by rewriting.
    """

    id: str
    created_at: float
    model: str
    provider: str
    network: str
    endpoint: str
    settlement_mode: str
    schema: int = RECEIPT_SCHEMA
    conversation_id: str | None = None
    call_id: str | None = None
    """The gateway's id for this call (`X-OG-Call-Id`, bytes32 hex): its on-chain record's key."""
    tee_id: str | None = None
    request_hash: str | None = None
    output_hash: str | None = None
    tee_signature: str | None = None
    tee_timestamp: int | None = None
    signature_status: str = SignatureStatus.UNAVAILABLE.value
    signature_detail: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    price_opg: str | None = None
    """Gateway price for this call in OPG (decimal string), when it tells us."""
    charged_opg: str | None = None
    """Amount actually settled for this call in OPG, when known."""
    scheme: str | None = None
    asset: str | None = None
    pay_to: str | None = None
    authorization_cap: str | None = None
    """The signed maximum, in base units."""
    nonce: str | None = None
    deadline: int | None = None
    payer: str | None = None
    upto_session: str | None = None
    authorization_digest: str | None = None
    payment_hash: str | None = None
    """This call's own on-chain record, never shared with another call (`record_hash`):
    individual → its settlement transaction; batch, private → its call id on the devnet (an
    indexed topic of its `BatchLeaf` / `CallRecorded` event). On mainnet: individual → the
    `X-Settlement-Tx-Hash`; batch → the leaf; private → a local per-call id (not on-chain).
    None while the call has no answer (the write-ahead receipt, a failed call)."""
    payment_status: str = PaymentStatus.PENDING.value
    payment_tx: str | None = None
    approval_tx: str | None = None
    """The gas-sponsored Permit2 approval signed with the authorization (the facilitator
    broadcasts it with the settlement): its transaction hash."""
    data_settlement_tx: str | None = None
    batch_root_tx: str | None = None
    batch_root: str | None = None
    merkle_proof: list[str] | None = None
    merkle_leaf: str | None = None
    blob_id: str | None = None
    record_block: int | None = None
    """The block holding the call's own record (its `payment_hash`), once it was seen there:
    None while the record is pending."""
    output_text: str | None = None
    """The answer as signed (content, or tool calls as sorted JSON), to re-check output_hash."""
    finish_reason: str | None = None
    error: str | None = None
    chain_id: int | None = None
    """The payment chain's id when the receipt was made."""
    chain_genesis: str | None = None
    """The devnet's genesis block hash when the receipt was made (`/devnet`'s genesis_hash):
    with `chain_instance`, what tells a chain that was reset from a receipt that was forged."""
    chain_instance: str | None = None
    """The devnet's instance id (made at its first start, kept with its state)."""
    request_body_hash: str | None = None
    """keccak of the canonical request as sent (hex, no 0x): what the payment was for, known
    before the answer (the write-ahead receipt carries it)."""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Receipt:
        """Build from a dict, ignoring keys this version does not know."""
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @property
    def cost_opg(self) -> str | None:
        """What the call cost in OPG: the charged amount once known, else the quoted price."""
        return self.charged_opg or self.price_opg

    @property
    def tee_ok(self) -> bool | None:
        """True/False when the signature was checked, None when it could not be."""
        if self.signature_status == SignatureStatus.VERIFIED.value:
            return True
        if self.signature_status == SignatureStatus.FAILED.value:
            return False
        return None

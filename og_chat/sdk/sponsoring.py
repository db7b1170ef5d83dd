"""Gas-sponsored approval, the client's side: approve Permit2 inside the first payment.

A wallet must let Permit2 move its OPG before any Permit2 authorization can be
settled. When a 402 advertises `erc20ApprovalGasSponsoring` (as OpenGradient's gateway
does) and the wallet's allowance falls short, the client signs, but never sends, an
EIP-1559 `approve(Permit2, amount)` and carries it in the payment's `extensions`; the
facilitator broadcasts it together with the settlement and pays its gas. A new wallet
needs neither ETH nor a separate approval step. The extension's shape is the x402
reference's (x402 2.25 `extensions/erc20_approval_gas_sponsoring`).

A signed transaction is more than an authorization: anyone may broadcast it on any
chain with its chain id. So one is signed only where that chain is known to be the one
meant: the mainnet profile (Base's constants, never a server's), a devnet with one of
its published test keys, or the devnet this process started itself (`may_sign`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .chain import ChainClient
from .errors import ChainError
from .eth import checksum, hex0x, keccak
from .keys import sign_eip1559
from .networks import APPROVAL_SPONSORING, NetworkProfile
from .trust import KeyKind, key_kind
from .x402 import PaymentRequired, PaymentRequirements

APPROVAL_GAS = 70_000
"""The reference client's gas limit for the approval (an OPG approve uses about 46,000)."""
APPROVAL_HEADROOM = 100
"""The approval covers this many authorizations like the one being paid (not the reference's
MaxUint256: a bounded allowance bounds what Permit2 could ever move)."""
DEFAULT_PRIORITY_FEE = 100_000_000
"""0.1 gwei, the reference's tip when the RPC does not suggest one."""
_APPROVE_SELECTOR = bytes.fromhex("095ea7b3")


@dataclass(frozen=True)
class SponsoredApproval:
    """A signed `approve(Permit2, amount)` for the facilitator to broadcast; never sent here."""

    signed_transaction: str
    """0x-hex of the signed EIP-1559 transaction."""
    tx_hash: str
    """Its hash: where the approval is found on-chain once the facilitator has broadcast it."""
    payer: str
    asset: str
    spender: str
    amount: int
    nonce: int

    def info(self) -> dict[str, str]:
        """The extension's `info`, field for field as the reference client sends it."""
        return {
            "from": self.payer,
            "asset": self.asset,
            "spender": self.spender,
            "amount": str(self.amount),
            "signedTransaction": self.signed_transaction,
            "version": "1",
        }

    def extensions(self, declared: dict[str, Any] | None) -> dict[str, Any]:
        """The payment's `extensions`: the server's declarations, this approval merged in.

        The server's entry (description, schema) is kept, as the reference merges it;
        the fields the client fills are the client's, whatever the server declared.
        """
        out = dict(declared or {})
        entry = out.get(APPROVAL_SPONSORING)
        entry = dict(entry) if isinstance(entry, dict) else {}
        declared_info = entry.get("info")
        base = dict(declared_info) if isinstance(declared_info, dict) else {}
        entry["info"] = {**base, **self.info()}
        out[APPROVAL_SPONSORING] = entry
        return out


def advertised(required: PaymentRequired) -> bool:
    """True when the 402 says its facilitator sponsors approvals."""
    return isinstance((required.extensions or {}).get(APPROVAL_SPONSORING), dict)


def may_sign(profile: NetworkProfile, private_key: str, *, embedded: bool) -> bool:
    """Whether a transaction signed with `private_key` for `profile` stays on the chain meant.

    Mainnet's chain and addresses are constants; a devnet's come from its `/devnet`
    document, which a user key must not trust unless this process started that devnet.
    """
    if profile.name == "mainnet":
        return True
    return embedded or key_kind(private_key) is KeyKind.TEST


class ApprovalSponsor:
    """Decides whether a payment carries a sponsored approval, and signs it.

    Keeps the last allowance it read, minus what was authorized since, so the chain is
    read again only when that could fall short (a wallet that approved enough once is
    never read again).
    """

    def __init__(self, profile: NetworkProfile, chain: ChainClient | None = None) -> None:
        self.profile = profile
        self.chain = chain or ChainClient(profile)
        self._known_allowance: int | None = None

    def approval_for(
        self, private_key: str, payer: str, required: PaymentRequired, req: PaymentRequirements
    ) -> SponsoredApproval | None:
        """Blocking (chain reads): the approval this payment should carry, or None.

        None when the server does not sponsor, the payment is not a Permit2 one in
        this profile's OPG, or the allowance already covers it.
        """
        if not advertised(required) or req.transfer_method != "permit2":
            return None
        if req.asset.lower() != self.profile.opg.lower():
            return None
        needed = req.amount_int
        known = self._known_allowance
        if known is None or known < needed:
            try:
                known = self.chain.balances(payer).allowance
            except ChainError:  # unreadable: pay without; the facilitator names what is missing
                return None
        if known >= needed:
            self._known_allowance = known - needed
            return None
        self._known_allowance = None  # read again once the approval has landed
        return self._sign(private_key, payer, needed * APPROVAL_HEADROOM)

    def forget(self) -> None:
        """Drop the allowance counted on (a refused payment): the next one reads the chain."""
        self._known_allowance = None

    def _sign(self, private_key: str, payer: str, amount: int) -> SponsoredApproval:
        fees = self.chain.next_transaction_fees(payer, DEFAULT_PRIORITY_FEE)
        asset, spender = checksum(self.profile.opg), checksum(self.profile.permit2)
        data = _APPROVE_SELECTOR + bytes.fromhex(spender[2:]).rjust(32, b"\0")
        data += amount.to_bytes(32, "big")
        raw = sign_eip1559(
            private_key,
            chain_id=self.profile.chain_id,
            fees=fees,
            gas=APPROVAL_GAS,
            to=asset,
            data=data,
        )
        return SponsoredApproval(
            signed_transaction=hex0x(raw),
            tx_hash=hex0x(keccak(raw)),
            payer=checksum(payer),
            asset=asset,
            spender=spender,
            amount=amount,
            nonce=fees.nonce,
        )

"""EIP-712 payment authorizations: upto and exact over Permit2, exact over EIP-3009.

Typed-data builders are pure; signing and recovery import eth_account on first
use so `import og_chat.sdk` stays fast.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

from .addresses import EXACT_PERMIT2_PROXY, PERMIT2_ADDRESS, UPTO_PERMIT2_PROXY
from .errors import PaymentError
from .eth import checksum, from_hex, keccak, parse_uint, word32
from .x402 import PaymentPayload, PaymentRequired, PaymentRequirements

EIP712_DOMAIN_NO_VERSION = [
    {"name": "name", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
EIP712_DOMAIN = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
TOKEN_PERMISSIONS = [{"name": "token", "type": "address"}, {"name": "amount", "type": "uint256"}]
PERMIT_WITNESS_TRANSFER_FROM = [
    {"name": "permitted", "type": "TokenPermissions"},
    {"name": "spender", "type": "address"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
    {"name": "witness", "type": "Witness"},
]
UPTO_WITNESS = [
    {"name": "to", "type": "address"},
    {"name": "facilitator", "type": "address"},
    {"name": "validAfter", "type": "uint256"},
]
EXACT_WITNESS = [{"name": "to", "type": "address"}, {"name": "validAfter", "type": "uint256"}]
TRANSFER_WITH_AUTHORIZATION = [
    {"name": "from", "type": "address"},
    {"name": "to", "type": "address"},
    {"name": "value", "type": "uint256"},
    {"name": "validAfter", "type": "uint256"},
    {"name": "validBefore", "type": "uint256"},
    {"name": "nonce", "type": "bytes32"},
]
SECP256K1_HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0
VALID_AFTER_BACKDATE = 600
"""Seconds `validAfter` is backdated, as the official client does, to absorb clock skew."""


def upto_typed_data(
    *,
    chain_id: int,
    token: str,
    amount: int,
    spender: str,
    nonce: int,
    deadline: int,
    to: str,
    facilitator: str,
    valid_after: int,
    permit2: str = PERMIT2_ADDRESS,
) -> dict[str, Any]:
    """Permit2 `PermitWitnessTransferFrom` with the upto witness `{to, facilitator, validAfter}`."""
    return {
        "types": {
            "EIP712Domain": EIP712_DOMAIN_NO_VERSION,
            "PermitWitnessTransferFrom": PERMIT_WITNESS_TRANSFER_FROM,
            "TokenPermissions": TOKEN_PERMISSIONS,
            "Witness": UPTO_WITNESS,
        },
        "primaryType": "PermitWitnessTransferFrom",
        "domain": {"name": "Permit2", "chainId": chain_id, "verifyingContract": checksum(permit2)},
        "message": {
            "permitted": {"token": checksum(token), "amount": int(amount)},
            "spender": checksum(spender),
            "nonce": int(nonce),
            "deadline": int(deadline),
            "witness": {
                "to": checksum(to),
                "facilitator": checksum(facilitator),
                "validAfter": int(valid_after),
            },
        },
    }


def exact_permit2_typed_data(
    *,
    chain_id: int,
    token: str,
    amount: int,
    spender: str,
    nonce: int,
    deadline: int,
    to: str,
    valid_after: int,
    permit2: str = PERMIT2_ADDRESS,
) -> dict[str, Any]:
    """Permit2 `PermitWitnessTransferFrom` with the exact witness `{to, validAfter}`."""
    return {
        "types": {
            "EIP712Domain": EIP712_DOMAIN_NO_VERSION,
            "PermitWitnessTransferFrom": PERMIT_WITNESS_TRANSFER_FROM,
            "TokenPermissions": TOKEN_PERMISSIONS,
            "Witness": EXACT_WITNESS,
        },
        "primaryType": "PermitWitnessTransferFrom",
        "domain": {"name": "Permit2", "chainId": chain_id, "verifyingContract": checksum(permit2)},
        "message": {
            "permitted": {"token": checksum(token), "amount": int(amount)},
            "spender": checksum(spender),
            "nonce": int(nonce),
            "deadline": int(deadline),
            "witness": {"to": checksum(to), "validAfter": int(valid_after)},
        },
    }


def eip3009_typed_data(
    *,
    name: str,
    version: str,
    chain_id: int,
    token: str,
    from_: str,
    to: str,
    value: int,
    valid_after: int,
    valid_before: int,
    nonce: str,
) -> dict[str, Any]:
    """EIP-3009 `TransferWithAuthorization` on the token's own domain; nonce is 0x + 32 bytes."""
    nonce_bytes = word32(nonce)
    return {
        "types": {
            "EIP712Domain": EIP712_DOMAIN,
            "TransferWithAuthorization": TRANSFER_WITH_AUTHORIZATION,
        },
        "primaryType": "TransferWithAuthorization",
        "domain": {
            "name": name,
            "version": version,
            "chainId": chain_id,
            "verifyingContract": checksum(token),
        },
        "message": {
            "from": checksum(from_),
            "to": checksum(to),
            "value": int(value),
            "validAfter": int(valid_after),
            "validBefore": int(valid_before),
            "nonce": nonce_bytes,
        },
    }


def _signable(full_message: dict[str, Any]) -> Any:
    from eth_account.messages import encode_typed_data

    return encode_typed_data(full_message=full_message)


def typed_data_digest(full_message: dict[str, Any]) -> str:
    """The EIP-712 digest `keccak(0x1901 ‖ domainSeparator ‖ structHash)`, 0x-hex."""
    msg = _signable(full_message)
    return "0x" + keccak(b"\x19" + msg.version + msg.header + msg.body).hex()


def domain_separator(full_message: dict[str, Any]) -> str:
    """The EIP-712 domain separator, 0x-hex."""
    return "0x" + bytes(_signable(full_message).header).hex()


def struct_hash(full_message: dict[str, Any]) -> str:
    """The EIP-712 struct hash of the message, 0x-hex."""
    return "0x" + bytes(_signable(full_message).body).hex()


def sign_typed_data(private_key: str | bytes, full_message: dict[str, Any]) -> str:
    """65-byte `r‖s‖v` signature (v ∈ {27, 28}), 0x-hex. RFC 6979, so deterministic."""
    from eth_account import Account

    signed = Account.sign_message(_signable(full_message), private_key)
    return "0x" + bytes(signed.signature).hex()


def split_signature(signature: str) -> tuple[int, bytes, bytes]:
    """`(v, r, s)` of a 65-byte signature, v normalised to 27/28; ValueError when malformed."""
    try:
        raw = from_hex(signature)
    except (ValueError, AttributeError):
        raise ValueError("signature is not hex") from None
    if len(raw) != 65:
        raise ValueError(f"signature is {len(raw)} bytes, expected 65")
    v = raw[64]
    if v < 27:
        v += 27
    if v not in (27, 28):
        raise ValueError(f"signature v={raw[64]} is not 0, 1, 27 or 28")
    return v, raw[:32], raw[32:64]


def recover_typed_data(
    full_message: dict[str, Any], signature: str, *, allow_high_s: bool = False
) -> str:
    """The checksummed address that signed `full_message`.

    Rejects malformed and (unless asked) high-s signatures with ValueError, as
    an on-chain `ecrecover` guard would.
    """
    from eth_account import Account

    v, r, s = split_signature(signature)
    if not allow_high_s and int.from_bytes(s, "big") > SECP256K1_HALF_N:
        raise ValueError("signature s is in the upper half of the curve order")
    try:
        return str(Account.recover_message(_signable(full_message), vrs=(v, r, s)))
    except Exception as exc:  # eth_keys raises several types for bad points
        raise ValueError(f"signature does not recover: {exc}") from None


def typed_data_for_payload(
    payload: PaymentPayload, requirement: PaymentRequirements
) -> dict[str, Any]:
    """Rebuild the typed data a received payload claims to have signed.

    Used by verifiers: the scheme and method come from `requirement`, the
    values from the payload. Raises ValueError/KeyError on malformed input.
    """
    inner = payload.payload
    chain_id = requirement.chain_id
    if requirement.transfer_method == "permit2":
        auth = inner["permit2Authorization"]
        witness = auth["witness"]
        common = {
            "chain_id": chain_id,
            "token": auth["permitted"]["token"],
            "amount": int(auth["permitted"]["amount"]),
            "spender": auth["spender"],
            "nonce": parse_uint(auth["nonce"]),
            "deadline": int(auth["deadline"]),
            "to": witness["to"],
            "valid_after": int(witness["validAfter"]),
        }
        if requirement.scheme == "upto":
            return upto_typed_data(facilitator=witness["facilitator"], **common)
        return exact_permit2_typed_data(**common)
    auth = inner["authorization"]
    extra = requirement.extra
    return eip3009_typed_data(
        name=str(extra["name"]),
        version=str(extra["version"]),
        chain_id=chain_id,
        token=requirement.asset,
        from_=auth["from"],
        to=auth["to"],
        value=int(auth["value"]),
        valid_after=int(auth["validAfter"]),
        valid_before=int(auth["validBefore"]),
        nonce=str(auth["nonce"]),
    )


@dataclass(frozen=True)
class SignedPayment:
    """A signed authorization ready to send, and what the receipt needs from it."""

    payload: PaymentPayload
    digest: str
    """EIP-712 digest of the authorization: the payment's id until it settles."""
    payer: str
    scheme: str
    nonce: str
    deadline: int
    amount: int


def sign_payment(
    private_key: str,
    required: PaymentRequired,
    requirement: PaymentRequirements,
    *,
    now: int | None = None,
    nonce: int | str | None = None,
    valid_after: int | None = None,
    permit2: str = PERMIT2_ADDRESS,
    spender: str | None = None,
) -> SignedPayment:
    """Sign `requirement` and build the `PaymentPayload` to send back.

    The caller has already checked the requirement against its policy; this
    only signs. `now`, `nonce` and `valid_after` are for reproducible vectors.
    """
    from eth_account import Account

    payer = str(Account.from_key(private_key).address)
    now = int(time.time()) if now is None else now
    amount = requirement.amount_int
    timeout = requirement.max_timeout_seconds or 3600
    method = requirement.transfer_method
    if method == "permit2":
        deadline = now + timeout
        if valid_after is None:
            valid_after = max(0, now - VALID_AFTER_BACKDATE)
        nonce_int = (
            parse_uint(nonce) if nonce is not None else int.from_bytes(os.urandom(32), "big")
        )
        to = checksum(requirement.pay_to)
        token = checksum(requirement.asset)
        if requirement.scheme == "upto":
            facilitator = requirement.extra.get("facilitatorAddress")
            if not facilitator:
                raise PaymentError(
                    "upto requirement has no extra.facilitatorAddress; nothing was signed"
                )
            spender = checksum(spender or UPTO_PERMIT2_PROXY)
            typed = upto_typed_data(
                chain_id=requirement.chain_id, token=token, amount=amount, spender=spender,
                nonce=nonce_int, deadline=deadline, to=to, facilitator=str(facilitator),
                valid_after=valid_after, permit2=permit2,
            )  # fmt: skip
            witness = {
                "to": to,
                "facilitator": checksum(str(facilitator)),
                "validAfter": str(valid_after),
            }
        else:
            spender = checksum(spender or EXACT_PERMIT2_PROXY)
            typed = exact_permit2_typed_data(
                chain_id=requirement.chain_id, token=token, amount=amount, spender=spender,
                nonce=nonce_int, deadline=deadline, to=to, valid_after=valid_after, permit2=permit2,
            )  # fmt: skip
            witness = {"to": to, "validAfter": str(valid_after)}
        signature = sign_typed_data(private_key, typed)
        inner: dict[str, Any] = {
            "permit2Authorization": {
                "from": payer,
                "permitted": {"token": token, "amount": str(amount)},
                "spender": spender,
                "nonce": str(nonce_int),
                "deadline": str(deadline),
                "witness": witness,
            },
            "signature": signature,
        }
        nonce_text = str(nonce_int)
    else:
        extra = requirement.extra
        if not extra.get("name") or not extra.get("version"):
            raise PaymentError(
                "exact requirement lacks extra.name/version (EIP-712 domain); nothing was signed"
            )
        deadline = now + timeout
        if valid_after is None:
            # v1 clients backdate by ten minutes; v2's reference client uses 0.
            valid_after = now - VALID_AFTER_BACKDATE if required.x402_version == 1 else 0
        nonce_text = str(nonce) if nonce is not None else "0x" + os.urandom(32).hex()
        typed = eip3009_typed_data(
            name=str(extra["name"]), version=str(extra["version"]), chain_id=requirement.chain_id,
            token=requirement.asset, from_=payer, to=requirement.pay_to, value=amount,
            valid_after=valid_after, valid_before=deadline, nonce=nonce_text,
        )  # fmt: skip
        signature = sign_typed_data(private_key, typed)
        inner = {
            "authorization": {
                "from": payer,
                "to": checksum(requirement.pay_to),
                "value": str(amount),
                "validAfter": str(valid_after),
                "validBefore": str(deadline),
                "nonce": nonce_text,
            },
            "signature": signature,
        }
    if required.x402_version == 1:
        payload = PaymentPayload(
            x402Version=1, scheme=requirement.scheme, network=requirement.network, payload=inner
        )
    else:
        payload = PaymentPayload(
            x402Version=2,
            payload=inner,
            accepted=requirement,
            resource=required.resource,
            extensions=required.extensions,
        )
    return SignedPayment(
        payload=payload,
        digest=typed_data_digest(typed),
        payer=payer,
        scheme=requirement.scheme,
        nonce=nonce_text,
        deadline=deadline,
        amount=amount,
    )

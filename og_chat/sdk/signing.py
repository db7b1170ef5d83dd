"""EIP-712 payment authorizations: upto and exact over Permit2, exact over EIP-3009.

Typed-data builders are pure; hashing is `eip712`, the curve work `keys`
(coincurve): no eth_account on the way to a signature.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, fields
from typing import Any, TypedDict, Unpack

from . import eip712, keys
from .addresses import EXACT_PERMIT2_PROXY, PERMIT2_ADDRESS, UPTO_PERMIT2_PROXY
from .errors import PaymentError
from .eth import checksum, from_hex, parse_uint, typed_fields, word32
from .sponsoring import SponsoredApproval
from .x402 import PaymentPayload, PaymentRequired, PaymentRequirements

TypeList = list[dict[str, str]]
"""An EIP-712 struct's members, as `typed_fields` builds them."""
EIP712_DOMAIN_NO_VERSION = typed_fields("name:string chainId:uint256 verifyingContract:address")
EIP712_DOMAIN = typed_fields("name:string version:string chainId:uint256 verifyingContract:address")
TOKEN_PERMISSIONS = typed_fields("token:address amount:uint256")
PERMIT_WITNESS_TRANSFER_FROM = typed_fields(
    "permitted:TokenPermissions spender:address nonce:uint256 deadline:uint256 witness:Witness"
)
UPTO_WITNESS = typed_fields("to:address facilitator:address validAfter:uint256")
EXACT_WITNESS = typed_fields("to:address validAfter:uint256")
TRANSFER_WITH_AUTHORIZATION = typed_fields(
    "from:address to:address value:uint256 validAfter:uint256 validBefore:uint256 nonce:bytes32"
)
SECP256K1_HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0
VALID_AFTER_BACKDATE = 600
"""Seconds `validAfter` is backdated, as the official client does, to absorb clock skew."""


def permit2_witness(
    scheme: str, to: str, facilitator: Any = None
) -> tuple[TypeList, dict[str, Any]]:
    """The witness type of a Permit2 scheme and its address fields (`validAfter` comes on top).

    upto binds `{to, facilitator, validAfter}`, exact `{to, validAfter}`.
    """
    if scheme == "upto":
        return UPTO_WITNESS, {"to": checksum(to), "facilitator": checksum(facilitator)}
    return EXACT_WITNESS, {"to": checksum(to)}


def permit2_typed_data(
    witness_type: TypeList,
    witness: dict[str, Any],
    *,
    chain_id: int,
    token: str,
    amount: int,
    spender: str,
    nonce: int,
    deadline: int,
    permit2: str = PERMIT2_ADDRESS,
) -> dict[str, Any]:
    """Permit2 `PermitWitnessTransferFrom`, what both Permit2 schemes sign (see `permit2_witness`)."""
    return {
        "types": {
            "EIP712Domain": EIP712_DOMAIN_NO_VERSION,
            "PermitWitnessTransferFrom": PERMIT_WITNESS_TRANSFER_FROM,
            "TokenPermissions": TOKEN_PERMISSIONS,
            "Witness": witness_type,
        },
        "primaryType": "PermitWitnessTransferFrom",
        "domain": {"name": "Permit2", "chainId": chain_id, "verifyingContract": checksum(permit2)},
        "message": {
            "permitted": {"token": checksum(token), "amount": int(amount)},
            "spender": checksum(spender),
            "nonce": int(nonce),
            "deadline": int(deadline),
            "witness": witness,
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


def typed_data_digest(full_message: dict[str, Any]) -> str:
    """The EIP-712 digest `keccak(0x1901 ‖ domainSeparator ‖ structHash)`, 0x-hex."""
    return "0x" + eip712.digest(full_message).hex()


def domain_separator(full_message: dict[str, Any]) -> str:
    """The EIP-712 domain separator, 0x-hex."""
    return "0x" + eip712.hashes(full_message)[0].hex()


def struct_hash(full_message: dict[str, Any]) -> str:
    """The EIP-712 struct hash of the message, 0x-hex."""
    return "0x" + eip712.hashes(full_message)[1].hex()


def sign_typed_data(private_key: str | bytes, full_message: dict[str, Any]) -> str:
    """65-byte `r‖s‖v` signature (v ∈ {27, 28}), 0x-hex. RFC 6979, so deterministic."""
    return "0x" + keys.sign_digest(private_key, eip712.digest(full_message)).hex()


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
    v, r, s = split_signature(signature)
    if not allow_high_s and int.from_bytes(s, "big") > SECP256K1_HALF_N:
        raise ValueError("signature s is in the upper half of the curve order")
    try:
        digest = eip712.digest(full_message)
    except (KeyError, TypeError) as exc:
        raise ValueError(f"not a typed message: {exc}") from None
    return keys.recover(digest, r, s, v)


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
        signed = auth["witness"]
        facilitator = signed["facilitator"] if requirement.scheme == "upto" else None
        witness_type, witness = permit2_witness(requirement.scheme, signed["to"], facilitator)
        return permit2_typed_data(
            witness_type, {**witness, "validAfter": int(signed["validAfter"])},
            chain_id=chain_id, token=auth["permitted"]["token"],
            amount=int(auth["permitted"]["amount"]), spender=auth["spender"],
            nonce=parse_uint(auth["nonce"]), deadline=int(auth["deadline"]),
        )  # fmt: skip
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
class Authorization:
    """What an authorization says, signed or not: what its receipt records."""

    digest: str
    """EIP-712 digest of the authorization: the payment's id until it settles."""
    payer: str
    scheme: str
    nonce: str
    deadline: int
    amount: int


@dataclass(frozen=True)
class SignedPayment(Authorization):
    """A signed authorization ready to send."""

    payload: PaymentPayload
    approval: SponsoredApproval | None = None
    """The gas-sponsored Permit2 approval carried in the payload's extensions, if any."""


@dataclass(frozen=True)
class PreparedPayment(Authorization):
    """An authorization with every value chosen (nonce, deadline) but not yet signed.

    The payment flow records it in a write-ahead receipt first, then signs it: what
    the receipt says is exactly what the signature will say.
    """

    required: PaymentRequired
    requirement: PaymentRequirements
    typed: dict[str, Any]
    """The EIP-712 typed data the signature covers."""
    inner: dict[str, Any]
    """The payload's inner object, without its `signature`."""

    def sign(self, private_key: str, approval: SponsoredApproval | None = None) -> SignedPayment:
        """Sign the typed data and build the `PaymentPayload` to send back; `approval`
        (already signed) rides in a v2 payload's extensions."""
        inner = {**self.inner, "signature": sign_typed_data(private_key, self.typed)}
        required, requirement = self.required, self.requirement
        if required.x402_version == 1:
            approval = None  # v1 has no extensions to carry it
            payload = PaymentPayload(
                x402Version=1, scheme=requirement.scheme, network=requirement.network,
                payload=inner,
            )  # fmt: skip
        else:
            extensions = required.extensions
            payload = PaymentPayload(
                x402Version=2,
                payload=inner,
                accepted=requirement,
                resource=required.resource,
                extensions=approval.extensions(extensions) if approval else extensions,
            )
        said = {f.name: getattr(self, f.name) for f in fields(Authorization)}
        return SignedPayment(payload=payload, approval=approval, **said)


def prepare_payment(
    payer: str,
    required: PaymentRequired,
    requirement: PaymentRequirements,
    *,
    now: int | None = None,
    nonce: int | str | None = None,
    valid_after: int | None = None,
    permit2: str = PERMIT2_ADDRESS,
    spender: str | None = None,
) -> PreparedPayment:
    """Choose the nonce and deadline of an authorization for `requirement` and build what
    `payer` will sign; nothing is signed here.

    The caller has already checked the requirement against its policy. `now`, `nonce`
    and `valid_after` are for reproducible vectors.
    """
    payer = checksum(payer)
    now = int(time.time()) if now is None else now
    amount = requirement.amount_int
    timeout = requirement.timeout_seconds
    method = requirement.transfer_method
    deadline = now + timeout
    if method == "permit2":
        if valid_after is None:
            valid_after = max(0, now - VALID_AFTER_BACKDATE)
        nonce_int = (
            parse_uint(nonce) if nonce is not None else int.from_bytes(os.urandom(32), "big")
        )
        to = checksum(requirement.pay_to)
        token = checksum(requirement.asset)
        facilitator = requirement.extra.get("facilitatorAddress")
        if requirement.scheme == "upto" and not facilitator:
            raise PaymentError(
                "upto requirement has no extra.facilitatorAddress; nothing was signed"
            )
        default = UPTO_PERMIT2_PROXY if requirement.scheme == "upto" else EXACT_PERMIT2_PROXY
        spender = checksum(spender or default)
        witness_type, witness = permit2_witness(requirement.scheme, to, facilitator)
        typed = permit2_typed_data(
            witness_type, {**witness, "validAfter": valid_after}, chain_id=requirement.chain_id,
            token=token, amount=amount, spender=spender, nonce=nonce_int, deadline=deadline,
            permit2=permit2,
        )  # fmt: skip
        inner: dict[str, Any] = {
            "permit2Authorization": {
                "from": payer,
                "permitted": {"token": token, "amount": str(amount)},
                "spender": spender,
                "nonce": str(nonce_int),
                "deadline": str(deadline),
                "witness": {**witness, "validAfter": str(valid_after)},
            },
        }
        nonce_text = str(nonce_int)
    else:
        extra = requirement.extra
        if not extra.get("name") or not extra.get("version"):
            raise PaymentError(
                "exact requirement lacks extra.name/version (EIP-712 domain); nothing was signed"
            )
        if valid_after is None:
            # v1 clients backdate by ten minutes; v2's reference client uses 0.
            valid_after = now - VALID_AFTER_BACKDATE if required.x402_version == 1 else 0
        nonce_text = str(nonce) if nonce is not None else "0x" + os.urandom(32).hex()
        typed = eip3009_typed_data(
            name=str(extra["name"]), version=str(extra["version"]), chain_id=requirement.chain_id,
            token=requirement.asset, from_=payer, to=requirement.pay_to, value=amount,
            valid_after=valid_after, valid_before=deadline, nonce=nonce_text,
        )  # fmt: skip
        inner = {
            "authorization": {
                "from": payer,
                "to": checksum(requirement.pay_to),
                "value": str(amount),
                "validAfter": str(valid_after),
                "validBefore": str(deadline),
                "nonce": nonce_text,
            },
        }
    return PreparedPayment(
        required=required, requirement=requirement, typed=typed, inner=inner,
        digest=typed_data_digest(typed), payer=payer, scheme=requirement.scheme,
        nonce=nonce_text, deadline=deadline, amount=amount,
    )  # fmt: skip


class PaymentOptions(TypedDict, total=False):
    """What `prepare_payment` takes beyond the requirement (see its parameters)."""

    now: int | None
    nonce: int | str | None
    valid_after: int | None
    permit2: str
    spender: str | None


def sign_payment(
    private_key: str,
    required: PaymentRequired,
    requirement: PaymentRequirements,
    approval: SponsoredApproval | None = None,
    **options: Unpack[PaymentOptions],
) -> SignedPayment:
    """Sign `requirement` and build the `PaymentPayload` to send back (`prepare_payment`, then
    `PreparedPayment.sign`); `approval` (already signed) rides in a v2 payload's extensions."""
    prepared = prepare_payment(keys.address_of(private_key), required, requirement, **options)
    return prepared.sign(private_key, approval)

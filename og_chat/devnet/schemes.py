"""The x402 scheme checks the devnet facilitator runs: `exact` over EIP-3009, `exact` and
`upto` over Permit2.

The checks and their `invalidReason` strings follow the reference facilitator (x402
2.25, reference/x402-evm.md §3–4), in its order, so a client sees the same reasons here
as against a production facilitator. Two deliberate differences: a high-s (malleable)
signature is refused (`invalid_exact_evm_payload_signature`; the reference accepts it
offline and the token then reverts on-chain), and facilitator.py reserves a
`(payer, nonce)` from a successful verify until it settles.

A passing check yields a `Plan`: who pays, what one settlement consumes, and the
settlement call itself. A Permit2 payer without allowance may send a signed approval in
the `erc20ApprovalGasSponsoring` extension (sponsoring.py): the plan then carries it, to
be broadcast just before the settlement. Every method here runs on the chain's worker
thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from og_chat.sdk.addresses import EXACT_PERMIT2_PROXY, PERMIT2_ADDRESS, UPTO_PERMIT2_PROXY
from og_chat.sdk.eth import checksum, from_hex, parse_uint
from og_chat.sdk.signing import recover_typed_data, typed_data_digest, typed_data_for_payload
from og_chat.sdk.x402 import PaymentPayload, PaymentRequirements

from .node import BlockId, ChainRevert, Node, RpcError
from .sponsoring import Sponsorship, SponsorshipRefused, approval_info, check_approval

VALID_BEFORE_BUFFER = 6
"""Seconds an authorization must still be valid for, to leave time for inclusion."""
ERC1271_MAGIC = bytes.fromhex("1626ba7e")

# Reason strings of the reference facilitator (x402 2.25 mechanisms/evm/constants.py).
UNSUPPORTED_SCHEME = "unsupported_scheme"
NETWORK_MISMATCH = "network_mismatch"
INVALID_PAYLOAD = "invalid_payload"
INVALID_X402_VERSION = "invalid_x402_version"
EXACT_NETWORK_CONFIG = "invalid_exact_evm_failed_to_get_network_config"
MISSING_EIP712_DOMAIN = "missing_eip712_domain"
RECIPIENT_MISMATCH = "invalid_exact_evm_payload_recipient_mismatch"
VALUE_MISMATCH = "invalid_exact_evm_payload_authorization_value_mismatch"
VALID_BEFORE = "invalid_exact_evm_payload_authorization_valid_before"
VALID_AFTER = "invalid_exact_evm_payload_authorization_valid_after"
INVALID_SIGNATURE = "invalid_exact_evm_payload_signature"
ASSET_NOT_DEPLOYED = "asset_not_deployed_contract"
NONCE_ALREADY_USED = "invalid_exact_evm_nonce_already_used"
TOKEN_NAME_MISMATCH = "invalid_exact_evm_token_name_mismatch"
TOKEN_VERSION_MISMATCH = "invalid_exact_evm_token_version_mismatch"
INSUFFICIENT_BALANCE = "invalid_exact_evm_insufficient_balance"
EIP3009_NOT_SUPPORTED = "invalid_exact_evm_eip3009_not_supported"
SIMULATION_FAILED = "invalid_exact_evm_transaction_simulation_failed"
TRANSFER_EVENT_MISMATCH = "invalid_exact_evm_transfer_event_mismatch"
TRANSACTION_FAILED = "transaction_failed"
UNEXPECTED_SETTLE_ERROR = "unexpected_settle_error"
PERMIT2_INVALID_SPENDER = "invalid_permit2_spender"
PERMIT2_RECIPIENT_MISMATCH = "invalid_permit2_recipient_mismatch"
PERMIT2_DEADLINE_EXPIRED = "permit2_deadline_expired"
PERMIT2_NOT_YET_VALID = "permit2_not_yet_valid"
PERMIT2_AMOUNT_MISMATCH = "permit2_amount_mismatch"
PERMIT2_TOKEN_MISMATCH = "permit2_token_mismatch"
PERMIT2_INVALID_SIGNATURE = "invalid_permit2_signature"
PERMIT2_ALLOWANCE_REQUIRED = "permit2_allowance_required"
PERMIT2_INSUFFICIENT_BALANCE = "permit2_insufficient_balance"
PERMIT2_INVALID_NONCE = "permit2_invalid_nonce"
PERMIT2_INVALID_DESTINATION = "permit2_invalid_destination"
PERMIT2_INVALID_OWNER = "permit2_invalid_owner"
PERMIT2_PAYMENT_TOO_EARLY = "permit2_payment_too_early"
PERMIT2_INVALID_AMOUNT = "permit2_invalid_amount"
UPTO_INVALID_SCHEME = "invalid_upto_evm_scheme"
UPTO_NETWORK_MISMATCH = "invalid_upto_evm_network_mismatch"
UPTO_NETWORK_CONFIG = "invalid_upto_evm_failed_to_get_network_config"
UPTO_FACILITATOR_MISMATCH = "upto_facilitator_mismatch"
UPTO_SETTLEMENT_EXCEEDS_AMOUNT = "invalid_upto_evm_payload_settlement_exceeds_amount"
UPTO_AMOUNT_EXCEEDS_PERMITTED = "upto_amount_exceeds_permitted"
UPTO_UNAUTHORIZED_FACILITATOR = "upto_unauthorized_facilitator"
UPTO_TRANSACTION_FAILED = "invalid_upto_evm_transaction_failed"
SETTLEMENT_REFUSED = "unexpected_settle_error"
"""What `refuse_settlement=True` answers: the spec's generic settle failure."""

_PERMIT2_REVERTS = (
    ("InvalidAmount", PERMIT2_INVALID_AMOUNT),
    ("AmountExceedsPermitted", UPTO_AMOUNT_EXCEEDS_PERMITTED),
    ("UnauthorizedFacilitator", UPTO_UNAUTHORIZED_FACILITATOR),
    ("InvalidDestination", PERMIT2_INVALID_DESTINATION),
    ("InvalidOwner", PERMIT2_INVALID_OWNER),
    ("PaymentTooEarly", PERMIT2_PAYMENT_TOO_EARLY),
    ("InvalidSignature", PERMIT2_INVALID_SIGNATURE),
    ("InvalidSigner", PERMIT2_INVALID_SIGNATURE),
    ("SignatureExpired", PERMIT2_DEADLINE_EXPIRED),
    ("InvalidNonce", PERMIT2_INVALID_NONCE),
    ("insufficient allowance", PERMIT2_ALLOWANCE_REQUIRED),
    ("exceeds balance", PERMIT2_INSUFFICIENT_BALANCE),
)
_EIP3009_REVERTS = (
    ("authorization is used", NONCE_ALREADY_USED),
    ("authorization is expired", VALID_BEFORE),
    ("authorization is not yet valid", VALID_AFTER),
    ("exceeds balance", INSUFFICIENT_BALANCE),
    ("invalid signature", INVALID_SIGNATURE),
)


@dataclass
class Plan:
    """The outcome of the checks: who pays, and the settlement call if they pass."""

    payer: str
    reason: str | None = None
    """The `invalidReason` of the first failed check (None: every check passed)."""
    message: str | None = None
    key: tuple[str, str, int] | None = None
    """(method, payer lower-case, nonce): what one settlement consumes."""
    signature: str = ""
    amount: int = 0
    to: str = ""
    data: bytes = b""
    expires: int = 0
    sponsor: Sponsorship | None = None
    """A sponsored approval to broadcast before the settlement (Permit2 without allowance)."""


class _Invalid(Exception):
    """A failed check: the reference facilitator's reason and a message for people."""

    def __init__(self, reason: str, message: str | None = None) -> None:
        self.reason = reason
        self.message = message
        super().__init__(reason)


class SchemeChecks:
    """Verify-time and settle-time checks of x402 payloads against one devnet node.

    `clock` gives "now" for the time windows; `chain_checks=False` skips everything that
    needs the chain (network, code, allowance, balance, nonce, simulation), like the
    reference facilitator run against a mock chain.
    """

    def __init__(
        self, node: Node, *, facilitator: str, clock: Callable[[], int], chain_checks: bool
    ) -> None:
        self.node = node
        self.facilitator = facilitator
        self.clock = clock
        self.chain_checks = chain_checks
        self._good_signatures: set[tuple[str, str, str, str]] = set()

    def check(self, payload: PaymentPayload, req: PaymentRequirements, *, settling: bool) -> Plan:
        """Worker: run every check of the payload's scheme; the plan names the first failure."""
        plan = Plan(payer=payer_of(payload))
        try:
            if payload.x402_version not in (1, 2):
                raise _Invalid(INVALID_X402_VERSION)
            if req.scheme == "upto":
                self._check_permit2(payload, req, plan, upto=True, settling=settling)
            elif req.scheme == "exact":
                if isinstance(payload.payload.get("permit2Authorization"), dict):
                    self._check_permit2(payload, req, plan, upto=False, settling=settling)
                else:
                    self._check_eip3009(payload, req, plan, settling=settling)
            else:
                raise _Invalid(UNSUPPORTED_SCHEME, f"scheme {req.scheme!r} is not supported")
        except _Invalid as exc:
            plan.reason = exc.reason
            plan.message = exc.message
        return plan

    def _accepted(self, payload: PaymentPayload) -> tuple[str, str]:
        if payload.accepted is not None:
            return payload.accepted.scheme, payload.accepted.network
        return str(payload.scheme or ""), str(payload.network or "")

    def _check_network(self, network: str, config_reason: str) -> int:
        if not network.startswith("eip155:") or not network[7:].isdigit():
            raise _Invalid(config_reason, f"network {network!r} is not eip155:<chain id>")
        chain_id = int(network[7:])
        if self.chain_checks and chain_id != self.node.chain_id:
            raise _Invalid(
                config_reason, f"this facilitator settles on eip155:{self.node.chain_id} only"
            )
        return chain_id

    def _check_eip3009(
        self, payload: PaymentPayload, req: PaymentRequirements, plan: Plan, *, settling: bool
    ) -> None:
        scheme, network = self._accepted(payload)
        if scheme != "exact":
            raise _Invalid(UNSUPPORTED_SCHEME)
        if network != req.network:
            raise _Invalid(NETWORK_MISMATCH)
        self._check_network(req.network, EXACT_NETWORK_CONFIG)
        if not req.extra.get("name") or not req.extra.get("version"):
            raise _Invalid(MISSING_EIP712_DOMAIN, "extra.name and extra.version are required")
        try:
            auth = payload.payload["authorization"]
            signature = str(payload.payload.get("signature") or "")
            value = int(auth["value"])
            valid_after = int(auth["validAfter"])
            valid_before = int(auth["validBefore"])
            nonce_bytes = from_hex(str(auth["nonce"]))
            if len(nonce_bytes) != 32:
                raise ValueError("nonce must be 32 bytes")
            to = str(auth["to"])
        except (KeyError, TypeError, ValueError) as exc:
            raise _Invalid(INVALID_PAYLOAD, f"malformed EIP-3009 authorization: {exc}") from None
        plan.key = ("eip3009", plan.payer.lower(), int.from_bytes(nonce_bytes, "big"))
        plan.signature = signature
        plan.expires = valid_before
        plan.amount = value
        if to.lower() != req.pay_to.lower():
            raise _Invalid(RECIPIENT_MISMATCH)
        if value != req.amount_int:
            raise _Invalid(VALUE_MISMATCH, f"authorization value {value} != required {req.amount}")
        now = int(self.clock())
        if valid_before < now + VALID_BEFORE_BUFFER:
            raise _Invalid(VALID_BEFORE, "the authorization expires too soon to be settled")
        if valid_after > now:
            raise _Invalid(VALID_AFTER, "the authorization is not valid yet")
        self._check_signature(payload, req, plan, "eip3009", INVALID_SIGNATURE)
        token = self.node.contract("OPGToken")
        sig = from_hex(signature)
        call = token.functions.transferWithAuthorization(
            checksum(plan.payer), checksum(to), value, valid_after, valid_before, nonce_bytes, sig
        )
        if not self._plan_settlement(plan, req.asset, call, req.asset, settling=settling):
            return
        try:
            self.node.simulate(req.asset, plan.data)
        except ChainRevert as exc:
            raise _Invalid(self._diagnose_eip3009(req, plan, nonce_bytes), exc.reason) from None

    def _diagnose_eip3009(self, req: PaymentRequirements, plan: Plan, nonce: bytes) -> str:
        token = self.node.contract("OPGToken")
        asset = checksum(req.asset)
        try:
            if self._view(asset, token.functions.authorizationState(checksum(plan.payer), nonce)):
                return NONCE_ALREADY_USED
            if self._view(asset, token.functions.name()) != req.extra.get("name"):
                return TOKEN_NAME_MISMATCH
            if self._view(asset, token.functions.version()) != req.extra.get("version"):
                return TOKEN_VERSION_MISMATCH
            if (
                int(self._view(asset, token.functions.balanceOf(checksum(plan.payer))))
                < plan.amount
            ):
                return INSUFFICIENT_BALANCE
        except ChainRevert:
            return EIP3009_NOT_SUPPORTED
        return SIMULATION_FAILED

    def _check_permit2(
        self,
        payload: PaymentPayload,
        req: PaymentRequirements,
        plan: Plan,
        *,
        upto: bool,
        settling: bool,
    ) -> None:
        scheme, network = self._accepted(payload)
        if scheme != req.scheme:
            raise _Invalid(UPTO_INVALID_SCHEME if upto else UNSUPPORTED_SCHEME)
        if network != req.network:
            raise _Invalid(UPTO_NETWORK_MISMATCH if upto else NETWORK_MISMATCH)
        self._check_network(req.network, UPTO_NETWORK_CONFIG if upto else EXACT_NETWORK_CONFIG)
        try:
            auth = payload.payload["permit2Authorization"]
            signature = str(payload.payload.get("signature") or "")
            permitted = auth["permitted"]
            token_address = str(permitted["token"])
            permitted_amount = int(permitted["amount"])
            spender = str(auth["spender"])
            nonce = parse_uint(auth["nonce"])
            deadline = int(auth["deadline"])
            witness = auth["witness"]
            witness_to = str(witness["to"])
            valid_after = int(witness["validAfter"])
            facilitator = str(witness["facilitator"]) if upto else ""
        except (KeyError, TypeError, ValueError) as exc:
            raise _Invalid(INVALID_PAYLOAD, f"malformed Permit2 authorization: {exc}") from None
        plan.key = ("permit2", plan.payer.lower(), nonce)
        plan.signature = signature
        plan.expires = deadline
        proxy = UPTO_PERMIT2_PROXY if upto else EXACT_PERMIT2_PROXY
        if spender.lower() != proxy.lower():
            raise _Invalid(PERMIT2_INVALID_SPENDER, f"spender must be {proxy}")
        if witness_to.lower() != req.pay_to.lower():
            raise _Invalid(PERMIT2_RECIPIENT_MISMATCH)
        if upto and facilitator.lower() != self.facilitator.lower():
            raise _Invalid(
                UPTO_FACILITATOR_MISMATCH, f"witness.facilitator must be {self.facilitator}"
            )
        now = int(self.clock())
        if deadline < now + VALID_BEFORE_BUFFER:
            raise _Invalid(PERMIT2_DEADLINE_EXPIRED)
        if valid_after > now:
            raise _Invalid(PERMIT2_NOT_YET_VALID)
        if upto and settling:
            charge = req.amount_int
            if charge > permitted_amount:
                raise _Invalid(
                    UPTO_SETTLEMENT_EXCEEDS_AMOUNT,
                    f"charge {charge} exceeds the permitted {permitted_amount}",
                )
        else:
            charge = permitted_amount
            if permitted_amount != req.amount_int:
                raise _Invalid(
                    PERMIT2_AMOUNT_MISMATCH,
                    f"permitted {permitted_amount} != required {req.amount}",
                )
        plan.amount = charge
        if token_address.lower() != req.asset.lower():
            raise _Invalid(PERMIT2_TOKEN_MISMATCH)
        self._check_signature(payload, req, plan, "permit2", PERMIT2_INVALID_SIGNATURE)
        sig = from_hex(signature)
        permit = ((checksum(token_address), permitted_amount), nonce, deadline)
        if upto:
            call = self.node.contract("x402UptoPermit2Proxy").functions.settle(
                permit,
                charge,
                checksum(plan.payer),
                (checksum(witness_to), checksum(facilitator), valid_after),
                sig,
            )
        else:
            call = self.node.contract("x402ExactPermit2Proxy").functions.settle(
                permit, checksum(plan.payer), (checksum(witness_to), valid_after), sig
            )
        info = approval_info(payload)
        if not self._plan_settlement(plan, proxy, call, req.asset, settling=settling):
            if settling and info is not None and self.chain_checks:
                plan.sponsor = self._sponsorship(info, plan, req.asset, charge)
            return
        if info is not None:
            plan.sponsor = self._sponsorship(info, plan, req.asset, charge)
        revert: str | None = None
        if charge > 0:
            try:
                self._simulate_settlement(proxy, plan)
                return
            except ChainRevert as exc:
                revert = exc.reason
        # Only a failed (or skipped) simulation pays for the reads that name the reason.
        reason, message = self._diagnose_permit2(req, plan, nonce, charge, revert)
        if reason is not None:
            raise _Invalid(reason, message)

    def _sponsorship(
        self, info: dict[str, str], plan: Plan, asset: str, charge: int
    ) -> Sponsorship | None:
        """The sponsored approval this payment needs: None when the allowance already covers it.

        As in the reference, the extension is only looked at when the on-chain allowance
        falls short; then every check of sponsoring.py applies. The allowance is read on the
        pending block, where the nonce is read too: an approval another of the payer's
        sessions brought (queued for the next block) covers this payment, and an extension
        signed before that approval was queued is not needed (nor refused for its nonce).
        """
        token = self.node.contract("OPGToken")
        owner = checksum(plan.payer)
        allowance = int(
            self._view(asset, token.functions.allowance(owner, PERMIT2_ADDRESS), "pending")
        )
        if allowance >= charge:
            return None
        try:
            return check_approval(self.node, info, payer=plan.payer, token=asset, needed=charge)
        except SponsorshipRefused as exc:
            raise _Invalid(exc.reason, exc.message) from None

    def _simulate_settlement(self, proxy: str, plan: Plan) -> None:
        """Simulate the settlement, after the sponsored approval when there is one.

        A JSON-RPC node cannot run the bundle: there the checks of the approval are the
        best available, as in the reference facilitator without bundle simulation.
        """
        sponsor = plan.sponsor
        if sponsor is None:
            self.node.simulate(proxy, plan.data)
        elif self.node.is_pyevm:
            credit = (sponsor.payer, sponsor.funding) if sponsor.funding else None
            self.node.simulate(proxy, plan.data, after=[sponsor.raw], credit=credit)

    def _diagnose_permit2(
        self, req: PaymentRequirements, plan: Plan, nonce: int, charge: int, revert: str | None
    ) -> tuple[str | None, str | None]:
        token = self.node.contract("OPGToken")
        asset = checksum(req.asset)
        try:
            allowance = int(
                self._view(asset, token.functions.allowance(checksum(plan.payer), PERMIT2_ADDRESS))
            )
            if plan.sponsor is not None:
                allowance = plan.sponsor.amount
            balance = int(self._view(asset, token.functions.balanceOf(checksum(plan.payer))))
            word = self.node.contract("Permit2").functions.nonceBitmap(
                checksum(plan.payer), nonce >> 8
            )
            bitmap = int(self._view(PERMIT2_ADDRESS, word))
        except ChainRevert as exc:
            return SIMULATION_FAILED, exc.reason
        if allowance < charge:
            return (
                PERMIT2_ALLOWANCE_REQUIRED,
                f"allowance to Permit2 is {allowance}, the payment needs {charge}",
            )
        if balance < charge:
            return PERMIT2_INSUFFICIENT_BALANCE, f"balance {balance} < {charge}"
        if bitmap >> (nonce & 0xFF) & 1:
            return PERMIT2_INVALID_NONCE, "this Permit2 nonce is already used"
        if revert is None:
            return None, None
        reason = next((code for needle, code in _PERMIT2_REVERTS if needle in revert), None)
        return reason or UPTO_TRANSACTION_FAILED, revert

    def _plan_settlement(
        self, plan: Plan, to: str, call: Any, asset: str, *, settling: bool
    ) -> bool:
        """Record the settlement call in the plan; whether the chain checks that follow apply.

        At settle the transaction itself is the final check (a revert is diagnosed
        afterwards), so only verify goes on to simulate it.
        """
        plan.to = to
        plan.data = from_hex(call._encode_transaction_data())
        if not self.chain_checks:
            return False
        if not self._has_code(asset):
            raise _Invalid(ASSET_NOT_DEPLOYED)
        return not settling

    def _check_signature(
        self,
        payload: PaymentPayload,
        req: PaymentRequirements,
        plan: Plan,
        method: str,
        reason: str,
    ) -> None:
        """The payload's EIP-712 signature recovers to its payer (or its contract wallet agrees)."""
        if not plan.signature:
            raise _Invalid(reason, "no signature")
        try:
            typed = typed_data_for_payload(payload, _with_method(req, method))
        except (KeyError, TypeError, ValueError) as exc:
            raise _Invalid(INVALID_PAYLOAD, str(exc)) from None
        if not self._signed_by(typed, plan.signature, plan.payer):
            where = "permit2Authorization" if method == "permit2" else "authorization"
            raise _Invalid(reason, f"the signature does not recover to {where}.from")

    # -- chain reads (worker) --------------------------------------------------------

    def _signed_by(self, typed: dict[str, Any], signature: str, payer: str) -> bool:
        # Recovery is pure-Python secp256k1 without coincurve (about 9 ms): remember successes,
        # so settle does not redo what verify did. The key covers everything that was signed.
        memo = (
            repr(sorted(typed["message"].items())),
            repr(sorted(typed["domain"].items())),
            signature,
            payer,
        )
        if memo in self._good_signatures:
            return True
        try:
            if recover_typed_data(typed, signature).lower() == payer.lower():
                if len(self._good_signatures) > 10_000:
                    self._good_signatures.clear()
                self._good_signatures.add(memo)
                return True
        except ValueError:
            pass
        if not self.chain_checks or not self._has_code(payer):
            return False
        # A contract wallet: ask it (EIP-1271).
        digest = from_hex(typed_data_digest(typed))
        sig = from_hex(signature)
        from eth_abi.abi import encode

        data = ERC1271_MAGIC + encode(["bytes32", "bytes"], [digest, sig])
        try:
            return self.node.simulate(payer, data)[:4] == ERC1271_MAGIC
        except (ChainRevert, RpcError):
            return False

    def _has_code(self, address: str) -> bool:
        return self.node.code_size(address) > 0

    def _view(self, address: str, fn: Any, block: BlockId = "latest") -> Any:
        from eth_abi.abi import decode

        out = self.node.simulate(address, from_hex(fn._encode_transaction_data()), block=block)
        types = [str(o["type"]) for o in fn.abi["outputs"]]
        values = decode(types, out)
        return values[0] if len(values) == 1 else values


def payer_of(payload: PaymentPayload) -> str:
    """The authorization's `from` ("" when the payload has none)."""
    inner = payload.payload
    try:
        if isinstance(inner.get("permit2Authorization"), dict):
            return str(inner["permit2Authorization"]["from"])
        return str(inner["authorization"]["from"])
    except (KeyError, TypeError):
        return ""


def nonce_key(payload: PaymentPayload) -> tuple[str, str, int] | None:
    """(method, payer lower-case, nonce): what settling this payload consumes; None if unreadable."""
    inner = payload.payload
    try:
        if isinstance(inner.get("permit2Authorization"), dict):
            nonce = parse_uint(inner["permit2Authorization"]["nonce"])
            return ("permit2", payer_of(payload).lower(), nonce)
        return (
            "eip3009",
            payer_of(payload).lower(),
            int(str(inner["authorization"]["nonce"]), 16),
        )
    except (KeyError, TypeError, ValueError):
        return None


def _with_method(req: PaymentRequirements, method: str) -> PaymentRequirements:
    """The requirement with `assetTransferMethod` pinned to the payload's shape."""
    if req.scheme == "upto" or req.transfer_method == method:
        return req
    return req.model_copy(update={"extra": {**req.extra, "assetTransferMethod": method}})

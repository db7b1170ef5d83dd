"""An x402 v2 facilitator that verifies and settles on the devnet chain.

Schemes: `exact` over EIP-3009 (`transferWithAuthorization` on the token), `exact`
over Permit2 (`x402ExactPermit2Proxy`), and `upto` over Permit2
(`x402UptoPermit2Proxy`, the scheme OpenGradient's gateway uses). The checks and
their `invalidReason` strings follow the reference facilitator (x402 2.25,
reference/x402-evm.md §3–4), in its order, so a client sees the same reasons here as
against a production facilitator.

Two deliberate differences from the reference:
* a high-s (malleable) signature is refused at verify
  (`invalid_exact_evm_payload_signature`); the reference accepts it offline and the
  token then reverts on-chain.
* a `(payer, nonce)` is reserved from a successful verify until it settles or its
  authorization expires: a second, different payload reusing that nonce is refused at
  verify instead of failing later at settle.

Every settlement is a real transaction from the devnet operator whose receipt is
read back; settle is idempotent (the same payload settled twice returns the first
transaction instead of broadcasting again).
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from og_chat.sdk.signing import recover_typed_data, typed_data_for_payload
from og_chat.sdk.x402 import (
    FacilitatorRequest,
    PaymentPayload,
    PaymentRequirements,
    SettleResponse,
    VerifyResponse,
)

from .chain import (
    EXACT_PERMIT2_PROXY_ADDRESS,
    PERMIT2_ADDRESS,
    UPTO_PROXY_ADDRESS,
    Chain,
    ChainRevert,
    RpcError,
)

if TYPE_CHECKING:
    from aiohttp import web

SETTLE_GAS = 300_000
VALID_BEFORE_BUFFER = 6
"""Seconds an authorization must still be valid for, to leave time for inclusion."""
ERC1271_MAGIC = bytes.fromhex("1626ba7e")
TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"

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
class _Plan:
    """The outcome of the checks: who pays, and the settlement call if they pass."""

    payer: str
    reason: str | None = None
    message: str | None = None
    key: tuple[str, str, int] | None = None
    """(method, payer lower-case, nonce): what one settlement consumes."""
    signature: str = ""
    amount: int = 0
    to: str = ""
    data: bytes = b""
    expires: int = 0


class _Invalid(Exception):
    def __init__(self, reason: str, message: str | None = None) -> None:
        self.reason = reason
        self.message = message
        super().__init__(reason)


class Facilitator:
    """x402 v2 facilitator (`/supported`, `/verify`, `/settle`) settling on a devnet `Chain`.

    `refuse_settlement=True` makes every settle fail (fault injection). `clock` replaces
    the chain clock for time-window checks; `chain_checks=False` skips everything that
    needs the chain (network, code, allowance, balance, nonce, simulation), like the
    reference facilitator run against a mock chain; settle then refuses.
    """

    def __init__(
        self,
        chain: Chain,
        *,
        refuse_settlement: bool = False,
        clock: Callable[[], int] | None = None,
        chain_checks: bool = True,
    ) -> None:
        self.chain = chain
        self.refuse_settlement = refuse_settlement
        self.chain_checks = chain_checks
        self.address = chain.operator.address
        self.network = f"eip155:{chain.chain_id}"
        self._clock = clock or chain.chain_time
        self._lock = threading.Lock()
        self._reserved: dict[tuple[str, str, int], tuple[str, int]] = {}
        self._settled: dict[tuple[str, str, int], tuple[str, SettleResponse]] = {}
        self._inflight: dict[tuple[str, str, int], cf.Future[SettleResponse]] = {}
        self._good_signatures: set[tuple[str, str, str, str]] = set()

    # ------------------------------------------------------------------ API

    def supported(self) -> dict[str, Any]:
        """The `/supported` document."""
        return {
            "kinds": [
                {"x402Version": 2, "scheme": "exact", "network": self.network},
                {
                    "x402Version": 2,
                    "scheme": "upto",
                    "network": self.network,
                    "extra": {"facilitatorAddress": self.address},
                },
            ],
            "extensions": [],
            "signers": {"eip155:*": [self.address]},
        }

    async def verify(
        self, payload: PaymentPayload, requirements: PaymentRequirements
    ) -> VerifyResponse:
        """Check a payment without moving funds; reserves its nonce when valid."""
        plan = await self.chain.run(lambda _: self._check(payload, requirements, settling=False))
        if plan.reason is None and plan.key is not None:
            clash = self._reserve(plan)
            if clash:
                plan.reason = clash
        if plan.reason is not None:
            return VerifyResponse(
                isValid=False,
                invalidReason=plan.reason,
                invalidMessage=plan.message,
                payer=plan.payer,
            )
        return VerifyResponse(isValid=True, payer=plan.payer)

    async def settle(
        self, payload: PaymentPayload, requirements: PaymentRequirements
    ) -> SettleResponse:
        """Settle on-chain and read the receipt back (upto: `requirements.amount` is the charge)."""
        network = requirements.network
        if self.refuse_settlement:
            return SettleResponse(
                success=False,
                transaction="",
                network=network,
                payer=_payer_of(payload),
                errorReason=SETTLEMENT_REFUSED,
                errorMessage="this devnet facilitator was started with refuse_settlement=True",
            )
        if not self.chain_checks:
            return self._failure(
                network, _payer_of(payload), UNEXPECTED_SETTLE_ERROR, "chain checks are off"
            )
        signature = str(payload.payload.get("signature", ""))
        key = _nonce_key(payload, requirements)
        if key is not None:
            with self._lock:
                done = self._settled.get(key)
                if done is not None and done[0] == signature:
                    return done[1]
                running = self._inflight.get(key)
                if running is None:
                    running = cf.Future()
                    self._inflight[key] = running
                    owner = True
                else:
                    owner = False
            if not owner:
                return await asyncio.wrap_future(running)
            try:
                result = await self._settle(payload, requirements)
            except BaseException as exc:
                running.set_exception(exc)
                with self._lock:
                    self._inflight.pop(key, None)
                raise
            with self._lock:
                if result.success:
                    self._settled[key] = (signature, result)
                    self._reserved.pop(key, None)
                self._inflight.pop(key, None)
            running.set_result(result)
            return result
        return await self._settle(payload, requirements)

    def add_routes(self, app: web.Application, prefix: str = "") -> None:
        """Mount `GET /supported`, `POST /verify` and `POST /settle` under `prefix`."""
        from aiohttp import web

        async def supported(_: web.Request) -> web.Response:
            return web.json_response(self.supported())

        async def verify(request: web.Request) -> web.Response:
            body = await _parse_request(request)
            if isinstance(body, web.Response):
                return body
            result = await self.verify(body.payment_payload, body.payment_requirements)
            return web.json_response(result.wire())

        async def settle(request: web.Request) -> web.Response:
            body = await _parse_request(request)
            if isinstance(body, web.Response):
                return body
            result = await self.settle(body.payment_payload, body.payment_requirements)
            return web.json_response(result.wire())

        base = prefix.rstrip("/")
        app.router.add_get(f"{base}/supported", supported)
        app.router.add_post(f"{base}/verify", verify)
        app.router.add_post(f"{base}/settle", settle)

    # ------------------------------------------------------------------ settle

    async def _settle(
        self, payload: PaymentPayload, requirements: PaymentRequirements
    ) -> SettleResponse:
        network = requirements.network

        def check_and_send() -> tuple[_Plan, cf.Future[Any] | None]:
            plan = self._check(payload, requirements, settling=True)
            if plan.reason is not None or plan.amount == 0:
                return plan, None
            raw = self.chain.sign_operator_tx(plan.to, plan.data, gas=SETTLE_GAS)
            return plan, self.chain._apply_raw(raw)[1]

        try:
            plan, fut = await self.chain.run(lambda _: check_and_send())
        except RpcError as exc:
            return self._failure(network, _payer_of(payload), TRANSACTION_FAILED, exc.message)
        amount = str(plan.amount)
        if plan.reason is not None:
            return self._failure(network, plan.payer, plan.reason, plan.message)
        if fut is None:  # upto with nothing to charge: no transaction
            return SettleResponse(
                success=True, transaction="", network=network, payer=plan.payer, amount="0"
            )
        result = await asyncio.wrap_future(fut)
        if result.status != 1:
            # Name the failed check the way verify would (nonce used, balance, allowance, …).
            diagnosis = await self.chain.run(
                lambda _: self._check(payload, requirements, settling=False)
            )
            return SettleResponse(
                success=False,
                transaction=result.tx_hash,
                network=network,
                payer=plan.payer,
                errorReason=diagnosis.reason or TRANSACTION_FAILED,
                errorMessage=diagnosis.message or "the settlement transaction reverted",
            )
        if not any(
            log.topics
            and log.topics[0] == TRANSFER_TOPIC
            and log.address.lower() == requirements.asset.lower()
            for log in self.chain.logs_of(result.tx_hash)
        ):
            return SettleResponse(
                success=False,
                transaction=result.tx_hash,
                network=network,
                payer=plan.payer,
                errorReason=TRANSFER_EVENT_MISMATCH,
            )
        return SettleResponse(
            success=True,
            transaction=result.tx_hash,
            network=network,
            payer=plan.payer,
            amount=amount,
        )

    @staticmethod
    def _failure(
        network: str, payer: str, reason: str, message: str | None = None
    ) -> SettleResponse:
        return SettleResponse(
            success=False,
            transaction="",
            network=network,
            payer=payer,
            errorReason=reason,
            errorMessage=message,
        )

    def _reserve(self, plan: _Plan) -> str | None:
        """Hold (payer, nonce) for this payload; a reason string if another payload holds it."""
        assert plan.key is not None
        now = int(time.time())
        with self._lock:
            for key in [k for k, (_, exp) in self._reserved.items() if exp < now - 60]:
                del self._reserved[key]
            held = self._reserved.get(plan.key)
            if held is not None and held[0] != plan.signature:
                return PERMIT2_INVALID_NONCE if plan.key[0] == "permit2" else NONCE_ALREADY_USED
            self._reserved[plan.key] = (plan.signature, plan.expires)
        return None

    # ------------------------------------------------------------------ checks (worker thread)

    def _check(self, payload: PaymentPayload, req: PaymentRequirements, *, settling: bool) -> _Plan:
        payer = _payer_of(payload)
        plan = _Plan(payer=payer)
        try:
            if payload.x402_version not in (1, 2):
                raise _Invalid(INVALID_X402_VERSION)
            inner = payload.payload
            if req.scheme == "upto":
                self._check_permit2(payload, req, plan, upto=True, settling=settling)
            elif req.scheme == "exact":
                if isinstance(inner.get("permit2Authorization"), dict):
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
        if self.chain_checks and chain_id != self.chain.chain_id:
            raise _Invalid(config_reason, f"this facilitator settles on {self.network} only")
        return chain_id

    def _check_eip3009(
        self, payload: PaymentPayload, req: PaymentRequirements, plan: _Plan, *, settling: bool
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
            nonce_bytes = bytes.fromhex(str(auth["nonce"]).removeprefix("0x"))
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
        now = int(self._clock())
        if valid_before < now + VALID_BEFORE_BUFFER:
            raise _Invalid(VALID_BEFORE, "the authorization expires too soon to be settled")
        if valid_after > now:
            raise _Invalid(VALID_AFTER, "the authorization is not valid yet")
        if not signature:
            raise _Invalid(INVALID_SIGNATURE, "no signature")
        try:
            typed = typed_data_for_payload(payload, _with_method(req, "eip3009"))
        except (KeyError, TypeError, ValueError) as exc:
            raise _Invalid(INVALID_PAYLOAD, str(exc)) from None
        if not self._signed_by(typed, signature, plan.payer):
            raise _Invalid(
                INVALID_SIGNATURE, "the signature does not recover to authorization.from"
            )
        token = self.chain.contract("OPGToken")
        sig = bytes.fromhex(signature.removeprefix("0x"))
        call = token.functions.transferWithAuthorization(
            _cs(plan.payer), _cs(to), value, valid_after, valid_before, nonce_bytes, sig
        )
        plan.to = req.asset
        plan.data = bytes.fromhex(call._encode_transaction_data()[2:])
        if not self.chain_checks:
            return
        if not self._has_code(req.asset):
            raise _Invalid(ASSET_NOT_DEPLOYED)
        if settling:
            return  # the transaction is the final check; a revert is diagnosed afterwards
        try:
            self.chain.simulate(req.asset, plan.data)
        except ChainRevert as exc:
            raise _Invalid(self._diagnose_eip3009(req, plan, nonce_bytes), exc.reason) from None

    def _diagnose_eip3009(self, req: PaymentRequirements, plan: _Plan, nonce: bytes) -> str:
        token = self.chain.contract("OPGToken")
        asset = _cs(req.asset)
        try:
            if self._view(asset, token.functions.authorizationState(_cs(plan.payer), nonce)):
                return NONCE_ALREADY_USED
            if self._view(asset, token.functions.name()) != req.extra.get("name"):
                return TOKEN_NAME_MISMATCH
            if self._view(asset, token.functions.version()) != req.extra.get("version"):
                return TOKEN_VERSION_MISMATCH
            if int(self._view(asset, token.functions.balanceOf(_cs(plan.payer)))) < plan.amount:
                return INSUFFICIENT_BALANCE
        except ChainRevert:
            return EIP3009_NOT_SUPPORTED
        return SIMULATION_FAILED

    def _check_permit2(
        self,
        payload: PaymentPayload,
        req: PaymentRequirements,
        plan: _Plan,
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
            nonce_text = str(auth["nonce"])
            nonce = int(nonce_text, 16) if nonce_text.lower().startswith("0x") else int(nonce_text)
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
        proxy = UPTO_PROXY_ADDRESS if upto else EXACT_PERMIT2_PROXY_ADDRESS
        if spender.lower() != proxy.lower():
            raise _Invalid(PERMIT2_INVALID_SPENDER, f"spender must be {proxy}")
        if witness_to.lower() != req.pay_to.lower():
            raise _Invalid(PERMIT2_RECIPIENT_MISMATCH)
        if upto and facilitator.lower() != self.address.lower():
            raise _Invalid(UPTO_FACILITATOR_MISMATCH, f"witness.facilitator must be {self.address}")
        now = int(self._clock())
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
        if not signature:
            raise _Invalid(PERMIT2_INVALID_SIGNATURE, "no signature")
        try:
            typed = typed_data_for_payload(payload, _with_method(req, "permit2"))
        except (KeyError, TypeError, ValueError) as exc:
            raise _Invalid(INVALID_PAYLOAD, str(exc)) from None
        if not self._signed_by(typed, signature, plan.payer):
            raise _Invalid(
                PERMIT2_INVALID_SIGNATURE,
                "the signature does not recover to permit2Authorization.from",
            )
        sig = bytes.fromhex(signature.removeprefix("0x"))
        permit = ((_cs(token_address), permitted_amount), nonce, deadline)
        if upto:
            call = self.chain.contract("x402UptoPermit2Proxy").functions.settle(
                permit,
                charge,
                _cs(plan.payer),
                (_cs(witness_to), _cs(facilitator), valid_after),
                sig,
            )
        else:
            call = self.chain.contract("x402ExactPermit2Proxy").functions.settle(
                permit, _cs(plan.payer), (_cs(witness_to), valid_after), sig
            )
        plan.to = proxy
        plan.data = bytes.fromhex(call._encode_transaction_data()[2:])
        if not self.chain_checks:
            return
        if not self._has_code(req.asset):
            raise _Invalid(ASSET_NOT_DEPLOYED)
        if settling:
            return  # the transaction is the final check; a revert is diagnosed afterwards
        revert: str | None = None
        if charge > 0:
            try:
                self.chain.simulate(proxy, plan.data)
                return
            except ChainRevert as exc:
                revert = exc.reason
        # Only a failed (or skipped) simulation pays for the reads that name the reason.
        reason, message = self._diagnose_permit2(req, plan, nonce, charge, revert)
        if reason is not None:
            raise _Invalid(reason, message)

    def _diagnose_permit2(
        self, req: PaymentRequirements, plan: _Plan, nonce: int, charge: int, revert: str | None
    ) -> tuple[str | None, str | None]:
        token = self.chain.contract("OPGToken")
        asset = _cs(req.asset)
        try:
            allowance = int(
                self._view(asset, token.functions.allowance(_cs(plan.payer), PERMIT2_ADDRESS))
            )
            balance = int(self._view(asset, token.functions.balanceOf(_cs(plan.payer))))
            word = self.chain.contract("Permit2").functions.nonceBitmap(_cs(plan.payer), nonce >> 8)
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

    # ------------------------------------------------------------------ chain helpers (worker)

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
        from og_chat.sdk.signing import typed_data_digest

        digest = bytes.fromhex(typed_data_digest(typed)[2:])
        sig = bytes.fromhex(signature.removeprefix("0x"))
        from eth_abi.abi import encode

        data = ERC1271_MAGIC + encode(["bytes32", "bytes"], [digest, sig])
        try:
            return self.chain.simulate(payer, data)[:4] == ERC1271_MAGIC
        except (ChainRevert, RpcError):
            return False

    def _has_code(self, address: str) -> bool:
        return self.chain.code_size(address) > 0

    def _view(self, address: str, fn: Any) -> Any:
        from eth_abi.abi import decode

        out = self.chain.simulate(
            address, bytes.fromhex(fn._encode_transaction_data()[2:]), block="latest"
        )
        types = [_abi_type(o) for o in fn.abi["outputs"]]
        values = decode(types, out)
        return values[0] if len(values) == 1 else values


def _abi_type(output: dict[str, Any]) -> str:
    return str(output["type"])


def _cs(address: str) -> str:
    from eth_utils.address import to_checksum_address

    return str(to_checksum_address(address))


def _payer_of(payload: PaymentPayload) -> str:
    inner = payload.payload
    try:
        if isinstance(inner.get("permit2Authorization"), dict):
            return str(inner["permit2Authorization"]["from"])
        return str(inner["authorization"]["from"])
    except (KeyError, TypeError):
        return ""


def _nonce_key(payload: PaymentPayload, req: PaymentRequirements) -> tuple[str, str, int] | None:
    inner = payload.payload
    try:
        if isinstance(inner.get("permit2Authorization"), dict):
            text = str(inner["permit2Authorization"]["nonce"])
            nonce = int(text, 16) if text.lower().startswith("0x") else int(text)
            return ("permit2", _payer_of(payload).lower(), nonce)
        return (
            "eip3009",
            _payer_of(payload).lower(),
            int(str(inner["authorization"]["nonce"]), 16),
        )
    except (KeyError, TypeError, ValueError):
        return None


def _with_method(req: PaymentRequirements, method: str) -> PaymentRequirements:
    """The requirement with `assetTransferMethod` pinned to the payload's shape."""
    if req.scheme == "upto" or req.transfer_method == method:
        return req
    return req.model_copy(update={"extra": {**req.extra, "assetTransferMethod": method}})


async def _parse_request(request: web.Request) -> FacilitatorRequest | web.Response:
    from aiohttp import web
    from pydantic import ValidationError

    try:
        data = await request.json()
    except Exception:
        return web.json_response({"error": "the body is not valid JSON"}, status=400)
    if not isinstance(data, dict):
        return web.json_response({"error": "the body must be a JSON object"}, status=400)
    try:
        return FacilitatorRequest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "body"
        return web.json_response(
            {"error": f"malformed facilitator request: {where}: {first.get('msg', 'invalid')}"},
            status=400,
        )

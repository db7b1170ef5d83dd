"""Check a receipt against the chain as it is now: what `og-chat receipts verify` runs.

Everything needed is in the receipt JSON plus one RPC URL, so an exported receipt
verifies on another machine, and nothing has to be synced first:

- **output hash** — keccak of `output_text` equals `output_hash` (an edited answer fails).
- **tee signature** — RSA-PSS over `(request_hash, output_hash, timestamp)` with the key
  the TEE registry holds for `tee_id` (a key only the gateway vouches for is ✗).
- **payment** — the session's settlement moved OPG from the payer to `pay_to`. A receipt
  that does not know its settlement yet is looked up (the devnet's `/v1/payments`, else
  the Permit2 nonce and the transfer logs); not settled yet is *pending*, not ✗.
- **on-chain record** — the call's own record, found from `payment_hash` alone
  (records.py) and compared field by field (record_checks.py). Not posted yet is
  *pending*, with when to expect it (the next batch post, the next block).

The receipt's chain identity (genesis hash and instance id, recorded when it was made)
is compared first: a receipt whose chain is gone (a reset devnet, another machine) is
"chain reset: cannot be checked" — never "✗ tampered". The verdict (`VerifyState`) is
failed when any check fails, else chain reset, else pending, else verified.

No Textual or Rich here; httpx, eth_abi and (for an unsettled receipt without a devnet
gateway) web3 are imported on first use.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import TYPE_CHECKING, Any

from og_chat.sdk.addresses import DEVNET_OPG, DEVNET_TEE_REGISTRY
from og_chat.sdk.errors import ChainError, ConfigurationError
from og_chat.sdk.eth import keccak
from og_chat.sdk.networks import NetworkProfile, mainnet_profile
from og_chat.sdk.opg import opg_text, to_base_units
from og_chat.sdk.receipting import local_call_id, record_hash
from og_chat.sdk.tee import (
    CheckResult,
    TEEInfo,
    fetch_active_tees,
    load_public_key,
    normalise_tee_id,
    tee_id_for,
    verify_signature,
)
from og_chat.sdk.types import PaymentStatus, Receipt, SignatureStatus

from .checks import PendingCheck, UncheckedCheck
from .onchain import TRANSFER_TOPIC, find_payment_onchain, settlement_address, topic_address
from .record_checks import RECORD, check_record
from .records import ChainReader, find_record

if TYPE_CHECKING:
    import httpx

REGISTRY = "the TEE registry"
"""Where a key must come from for a signature to count as verified."""

Registry = Callable[[str, str], list[TEEInfo]]
"""Reads the active TEEs of a registry: `(rpc_url, registry_address)`."""


class VerifyState(str, Enum):
    """The verdict on one receipt; each has its own exit code (docs/cli.md)."""

    VERIFIED = "verified"
    PENDING = "pending"
    """Nothing failed, but the session or the record is not on-chain yet."""
    CHAIN_RESET = "chain reset"
    """The chain the receipt was made on is not the one answering (or none answers)."""
    FAILED = "failed"
    """A check failed: the receipt does not match what was signed or what the chain holds."""


@dataclass
class Verification:
    """Every check of one receipt and the verdict they add up to."""

    receipt: Receipt
    checks: list[CheckResult] = field(default_factory=list)

    @property
    def state(self) -> VerifyState:
        if any(type(c) is CheckResult and not c.ok for c in self.checks):
            return VerifyState.FAILED
        if any(isinstance(c, UncheckedCheck) for c in self.checks):
            return VerifyState.CHAIN_RESET
        if any(isinstance(c, PendingCheck) for c in self.checks):
            return VerifyState.PENDING
        return VerifyState.VERIFIED


def verify_receipt(
    receipt: Receipt, profile: NetworkProfile, *, rpc_url: str | None = None
) -> list[CheckResult]:
    """Every check of one receipt, in a fixed order; blocking (reads the chain).

    `rpc_url` overrides the profile's payment-chain RPC (for the devnet it is
    `<devnet>/rpc`, which also serves the TEE registry)."""
    with Verifier(rpc_url=rpc_url) as verifier:
        return verifier.verify(receipt, profile).checks


class Verifier:
    """Verifies receipts against the chain as it is now, sharing what receipts share.

    One per run: it keeps one connection per RPC and caches the chain's identity, the
    gateway's `/devnet` document and the TEE registry, so a thousand receipts cost a few
    requests each. `offline` skips everything that reads a chain or a gateway.
    """

    def __init__(self, *, rpc_url: str | None = None, offline: bool = False) -> None:
        self.rpc_url = rpc_url
        self.offline = offline
        self._readers: dict[str, ChainReader] = {}
        self._docs: dict[str, dict[str, Any] | None] = {}
        self._tees: dict[tuple[str, str], list[TEEInfo] | Exception] = {}
        self._profiles: dict[tuple[str, str], NetworkProfile] = {}
        self._settled: dict[tuple[str, str], str | None] = {}
        """(payer, nonce) → the session's settlement transaction: calls of one session share it."""
        self._gateways: dict[str, httpx.Client] = {}

    def __enter__(self) -> Verifier:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        for reader in self._readers.values():
            reader.close()
        self._readers.clear()
        for client in self._gateways.values():
            client.close()
        self._gateways.clear()

    def _gateway(self, profile: NetworkProfile) -> httpx.Client:
        """One connection per gateway for the run (a client per request costs its TLS setup)."""
        import httpx

        key = profile.gateway_url or ""
        if key not in self._gateways:
            self._gateways[key] = httpx.Client(timeout=10, verify=profile.http_verify())
        return self._gateways[key]

    # -- one receipt ---------------------------------------------------------------

    def verify(self, receipt: Receipt, profile: NetworkProfile | None = None) -> Verification:
        """Every check of `receipt` (blocking). `profile`: the network it was made on, when
        known (else built from the receipt and the RPC URL)."""
        result = Verification(receipt, [check_output_hash(receipt)])
        checks = result.checks
        naming = check_payment_hash(receipt)
        if naming is not None:
            checks.append(naming)
        if self.offline:
            checks.append(_offline_record(receipt))
            return result
        profile = profile or self.profile_for(receipt)
        rpc = self.rpc_url or profile.rpc_url
        reader = self._reader(rpc, profile)
        gone = self._chain_gone(receipt, profile, reader)
        if gone is not None:
            checks.append(UncheckedCheck("chain", False, gone))
            return result
        checks.append(check_signature(receipt, profile, rpc_url=rpc, registry=self._registry))
        checks.append(self._payment(receipt, profile, reader))
        checks.append(self._record(receipt, profile, reader))
        return result

    def profile_for(self, receipt: Receipt) -> NetworkProfile:
        """A profile to verify `receipt` with, from the receipt and the RPC URL (cached)."""
        key = (receipt.network, receipt.endpoint)
        if key not in self._profiles:
            self._profiles[key] = profile_for_receipt(receipt, self.rpc_url)
        return self._profiles[key]

    # -- the chain it was made on ------------------------------------------------------

    def _chain_gone(
        self, receipt: Receipt, profile: NetworkProfile, reader: ChainReader
    ) -> str | None:
        """Why the receipt's chain cannot be checked here; None when it is the chain answering."""
        if receipt.network != "devnet" or not receipt.chain_genesis:
            return None  # mainnet stays; a receipt from before chain identities: as before
        try:
            genesis = reader.genesis_hash()
        except ChainError as exc:
            return f"chain reset: cannot be checked — the devnet at {reader.rpc_url} does not answer ({_first(exc)})"
        if genesis != receipt.chain_genesis.lower():
            return (
                f"chain reset: cannot be checked — the chain at {reader.rpc_url} starts with "
                f"block {genesis[:18]}…, the receipt's with {receipt.chain_genesis[:18]}…"
            )
        doc = self._devnet_doc(receipt.endpoint or profile.gateway_url)
        instance = doc.get("instance_id") if doc else None
        same_rpc = doc is not None and (not self.rpc_url or doc.get("rpc_url") == self.rpc_url)
        if same_rpc and receipt.chain_instance and instance != receipt.chain_instance:
            return (
                "chain reset: cannot be checked — the devnet was started afresh since this "
                f"receipt (instance {str(instance)[:12]}, the receipt's {receipt.chain_instance[:12]})"
            )
        return None

    # -- the session's payment ---------------------------------------------------------

    def _payment(
        self, receipt: Receipt, profile: NetworkProfile, reader: ChainReader
    ) -> CheckResult:
        name = "payment"
        status = receipt.payment_status
        if status == PaymentStatus.REFUSED.value:
            return CheckResult(name, False, "the payment was refused; nothing was paid")
        if status == PaymentStatus.FAILED.value:
            return CheckResult(
                name, False, f"the payment failed: {receipt.error or 'settlement failed'}"
            )
        if status == PaymentStatus.EXPIRED.value:
            return CheckResult(name, False, "the authorization expired unpaid; nothing was paid")
        if not (receipt.payer and receipt.pay_to):
            return CheckResult(name, False, "the receipt does not name the payer and payee")
        tx = receipt.payment_tx if status == PaymentStatus.SETTLED.value else None
        if not tx:
            tx = self._find_payment(receipt, profile, reader)
        if not tx:
            return PendingCheck(name, False, self._payment_due(receipt, profile))
        return check_transfer(receipt, profile, reader, tx)

    def _find_payment(
        self, receipt: Receipt, profile: NetworkProfile, reader: ChainReader
    ) -> str | None:
        """The settlement of a receipt that does not know it yet: the devnet's own record,
        else the chain (the Permit2 nonce, then the transfer logs)."""
        if not (receipt.payer and receipt.nonce):
            return None
        gateway = receipt.endpoint or profile.gateway_url
        session = (receipt.payer.lower(), str(receipt.nonce))
        if session in self._settled:
            return self._settled[session]
        if receipt.network == "devnet" and gateway:
            import httpx

            with contextlib.suppress(httpx.HTTPError, ValueError):
                resp = self._gateway(profile).get(
                    gateway.rstrip("/") + "/v1/payments",
                    params={"payer": receipt.payer, "nonce": receipt.nonce},
                )
                doc = resp.json() if resp.status_code == 200 else None
                if isinstance(doc, dict) and doc.get("status") == "settled":
                    found = doc.get("tx_hash")
                    self._settled[session] = found if isinstance(found, str) else None
                    return self._settled[session]
                if isinstance(doc, dict):
                    return None  # the gateway knows the session: not settled yet
        try:
            found = find_payment_onchain(profile, receipt, rpc_url=reader.rpc_url)
        except Exception:  # web3's errors: an RPC that cannot answer says nothing either way
            return None
        return found.tx_hash if found else None

    def _payment_due(self, receipt: Receipt, profile: NetworkProfile) -> str:
        doc = self._devnet_doc(receipt.endpoint or profile.gateway_url) or {}
        idle = _number((doc.get("session") or {}).get("idle_seconds"))
        what = f"pending: the upto session (authorization {_short(receipt.authorization_digest)}) is not settled yet"
        if idle is None:
            return what + "; the gateway settles it once it is idle or used up"
        return (
            what
            + f"; it settles {idle:g} s after its last call ({_due(receipt.created_at + idle)})"
        )

    # -- the call's own record ---------------------------------------------------------

    def _record(
        self, receipt: Receipt, profile: NetworkProfile, reader: ChainReader
    ) -> CheckResult:
        settlement = settlement_address(profile)
        key = record_hash(receipt) if receipt.output_hash else None
        if key is None:
            return CheckResult(RECORD, False, "the call was not answered: it has no record")
        if settlement is None:
            return _mainnet_record(receipt, reader, key)
        try:
            record = find_record(reader, key, settlement)
        except ChainError as exc:
            return CheckResult(RECORD, False, f"could not read the chain: {_first(exc)}")
        if record is not None:
            return check_record(receipt, record)
        if receipt.settlement_mode == "individual":
            try:
                known = reader.transaction(key)
            except ChainError as exc:
                return CheckResult(RECORD, False, f"could not read the chain: {_first(exc)}")
            if known is not None and not known.get("blockNumber"):
                return PendingCheck(
                    RECORD,
                    False,
                    f"pending: transaction {key} is sent, not mined yet (the next block)",
                )
            return CheckResult(
                RECORD, False, f"no settleIndividual transaction {key} on this chain"
            )
        doc = self._devnet_doc(receipt.endpoint or profile.gateway_url) or {}
        interval = _number((doc.get("settlement") or {}).get("batch_interval_seconds"))
        kind = "BatchLeaf" if receipt.settlement_mode == "batch" else "CallRecorded"
        when = (
            f"; the gateway posts its pending records every {interval:g} s "
            f"({_due(receipt.created_at + interval)})"
            if interval is not None
            else "; the gateway posts them in batches"
        )
        return PendingCheck(RECORD, False, f"pending: no {kind} event for {key} yet{when}")

    # -- cached reads ------------------------------------------------------------------

    def _reader(self, rpc: str, profile: NetworkProfile) -> ChainReader:
        if rpc not in self._readers:
            self._readers[rpc] = ChainReader(
                rpc, verify=profile.rpc_verify if not self.rpc_url else True
            )
        return self._readers[rpc]

    def _devnet_doc(self, gateway: str | None) -> dict[str, Any] | None:
        if not gateway:
            return None
        if gateway not in self._docs:
            import httpx

            doc = None
            with contextlib.suppress(httpx.HTTPError, ValueError):
                resp = httpx.get(gateway.rstrip("/") + "/devnet", timeout=10)
                doc = resp.json() if resp.status_code == 200 else None
            self._docs[gateway] = doc if isinstance(doc, dict) else None
        return self._docs[gateway]

    def _registry(self, rpc: str, address: str) -> list[TEEInfo]:
        key = (rpc, address.lower())
        if key not in self._tees:
            try:
                self._tees[key] = fetch_active_tees(rpc, address)
            except Exception as exc:
                self._tees[key] = exc
        found = self._tees[key]
        if isinstance(found, Exception):
            raise found
        return found


def profile_for_receipt(receipt: Receipt, rpc_url: str | None = None) -> NetworkProfile:
    """A profile to verify `receipt` with, from the receipt and an RPC URL alone.

    The devnet's contracts sit at fixed genesis addresses, so no gateway is needed;
    mainnet uses its constants with `rpc_url` as the Base RPC.
    """
    if receipt.network == "devnet":
        rpc = rpc_url or (receipt.endpoint.rstrip("/") + "/rpc" if receipt.endpoint else None)
        if not rpc:
            raise ConfigurationError(
                "this devnet receipt names no gateway", hint="pass --rpc-url <devnet>/rpc"
            )
        return NetworkProfile(
            name="devnet",
            chain_id=receipt.chain_id or 0,
            rpc_url=rpc,
            opg=receipt.asset or DEVNET_OPG,
            registry_rpc=rpc,
            registry_address=DEVNET_TEE_REGISTRY,
            gateway_url=receipt.endpoint or None,
        )
    profile = mainnet_profile()
    return replace(profile, rpc_url=rpc_url) if rpc_url else profile


# -- the checks -----------------------------------------------------------------------


def check_payment_hash(receipt: Receipt) -> CheckResult | None:
    """The receipt's `payment_hash` is its own call's record id (recomputed from the
    receipt); None for a receipt without one, or one made before per-call hashes (its
    `payment_hash` was then the session's digest or transfer)."""
    if not receipt.payment_hash or not receipt.output_hash:
        return None
    if receipt.payment_hash in (receipt.authorization_digest, receipt.payment_tx):
        return None
    expected = record_hash(receipt)
    if receipt.payment_hash.lower() == (expected or "").lower():
        return CheckResult(
            "payment hash", True, f"{receipt.payment_hash} names this call's own record"
        )
    return CheckResult(
        "payment hash", False, f"{receipt.payment_hash} is not this call's record id ({expected})"
    )


def check_transfer(
    receipt: Receipt, profile: NetworkProfile, reader: ChainReader, tx: str
) -> CheckResult:
    """The settlement transaction `tx` succeeded and moved OPG from the payer to `pay_to`."""
    name = "payment"
    mined = _mined(reader, name, tx, "settlement")
    if isinstance(mined, CheckResult):
        return mined
    token = (receipt.asset or profile.opg).lower()
    payer, pay_to = str(receipt.payer).lower(), str(receipt.pay_to).lower()
    moved = [
        int(str(log.get("data") or "0x0"), 16)
        for log in mined.get("logs") or []
        if str(log.get("address", "")).lower() == token
        and len(log.get("topics") or []) == 3
        and str(log["topics"][0]).lower() == TRANSFER_TOPIC
        and topic_address(log["topics"][1]) == payer
        and topic_address(log["topics"][2]) == pay_to
    ]
    if not moved:
        return CheckResult(
            name, False, f"transaction {tx} moved no OPG from {receipt.payer} to {receipt.pay_to}"
        )
    amount = sum(moved)
    charged = _base_units(receipt.charged_opg)
    if charged is not None and amount < charged:
        return CheckResult(
            name,
            False,
            f"transaction moved {opg_text(amount)} OPG, less than the {receipt.charged_opg} charged",
        )
    return CheckResult(
        name, True,
        f"{opg_text(amount)} OPG {receipt.payer} → {receipt.pay_to} in tx {tx} "
        f"(block {int(str(mined['blockNumber']), 16)})",
    )  # fmt: skip


def _mined(reader: ChainReader, name: str, tx: str, what: str) -> dict[str, Any] | CheckResult:
    """The receipt of transaction `tx` once it is mined and succeeded, else the check that
    says why not: unreadable, pending (sent, not mined yet) or reverted."""
    try:
        mined = reader.receipt(tx)
    except ChainError as exc:
        return CheckResult(name, False, f"transaction {tx} not found: {_first(exc)}")
    if mined is None:
        return PendingCheck(name, False, f"pending: {what} {tx} is sent, not mined yet")
    if int(str(mined.get("status", "0x0")), 16) != 1:
        return CheckResult(name, False, f"transaction {tx} reverted")
    return mined


def _mainnet_record(receipt: Receipt, reader: ChainReader, key: str) -> CheckResult:
    """What the live network gives: individual → its transaction, mined; batch → the leaf
    (roots are posted off this chain); private → a local id (nothing is posted per call)."""
    mode = receipt.settlement_mode
    if mode == "individual":
        mined = _mined(reader, RECORD, key, "the call's settlement")
        if isinstance(mined, CheckResult):
            return mined
        return CheckResult(RECORD, True, f"settlement transaction {key} mined")
    return _offline_record(receipt)


def _offline_record(receipt: Receipt) -> CheckResult:
    """What is checkable without a chain: the record id recomputes from the receipt."""
    key = record_hash(receipt) if receipt.output_hash else None
    if key is None:
        return CheckResult(RECORD, False, "the call was not answered: it has no record")
    if receipt.settlement_mode == "private" and key == local_call_id(receipt):
        return CheckResult(
            RECORD, True, f"{key} is a local per-call id: the live network posts nothing per call"
        )
    return CheckResult(RECORD, True, f"not read (offline): the record is {key}")


def _due(at: float) -> str:
    left = at - time.time()
    return f"expected in about {left:.0f} s" if left > 0 else f"due {-left:.0f} s ago"


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _short(value: str | None) -> str:
    return f"{value[:10]}…" if value else "unknown"


def check_output_hash(receipt: Receipt) -> CheckResult:
    """The stored answer is the one the TEE hashed."""
    if not receipt.output_hash:
        return CheckResult(
            "output hash", False, "the receipt has no output hash (the call was not signed)"
        )
    if receipt.output_text is None:
        return CheckResult("output hash", False, "the receipt keeps no output text to hash")
    mine = keccak(receipt.output_text.encode()).hex()
    if mine == receipt.output_hash.lower().removeprefix("0x"):
        return CheckResult(
            "output hash", True, "keccak(output_text) matches the signed output hash"
        )
    return CheckResult("output hash", False, f"the output text was changed: it hashes to 0x{mine}")


def check_signature(
    receipt: Receipt,
    profile: NetworkProfile,
    *,
    rpc_url: str | None = None,
    registry: Registry = fetch_active_tees,
) -> CheckResult:
    """The TEE registered for `tee_id` signed this request/output pair at this time."""
    name = "tee signature"
    if not (receipt.tee_signature and receipt.request_hash and receipt.output_hash):
        return CheckResult(name, False, "the receipt carries no TEE signature")
    if receipt.tee_timestamp is None:
        return CheckResult(name, False, "the receipt has no TEE timestamp")
    key, source = tee_public_key(receipt, profile, rpc_url=rpc_url, registry=registry)
    if key is None:
        return CheckResult(name, False, source)
    ok = verify_signature(
        key,
        receipt.tee_signature,
        receipt.request_hash,
        receipt.output_hash,
        int(receipt.tee_timestamp),
    )
    if not ok:
        return CheckResult(name, False, f"the signature does not match the key from {source}")
    if source != REGISTRY:
        # Verified means registry-verified: a key the gateway serves about itself proves
        # only that the gateway signed what it sent.
        return CheckResult(
            name, False, f"{SignatureStatus.SELF_VOUCHED.description} (key from {source})"
        )
    return CheckResult(name, True, f"RSA-PSS signature valid (key from {source})")


def tee_public_key(
    receipt: Receipt,
    profile: NetworkProfile,
    *,
    rpc_url: str | None = None,
    registry: Registry = fetch_active_tees,
) -> tuple[bytes | str | None, str]:
    """`(key, where it came from)`; `(None, why not)` when there is none to trust."""
    tee_id = normalise_tee_id(receipt.tee_id)
    if not tee_id:
        return None, "the receipt names no TEE id"
    registry_rpc = (rpc_url if profile.name == "devnet" else None) or profile.registry_rpc
    why = "no TEE registry is known for this network"
    if registry_rpc and profile.registry_address:
        try:
            tees = registry(registry_rpc, profile.registry_address)
        except Exception as exc:
            why = f"the TEE registry could not be read: {str(exc).splitlines()[0]}"
        else:
            for tee in tees:
                if normalise_tee_id(tee.tee_id) == tee_id:
                    return tee.public_key_der, REGISTRY
            # The registry answered and does not vouch for this TEE: a gateway's own word
            # about its key (`/signing-key`) must not override it.
            return None, (
                f"TEE {tee_id[:18]}… is not active in the registry {profile.registry_address}"
            )
    if profile.name == "devnet":
        pem = _signing_key(receipt.endpoint or profile.gateway_url)
        if pem is not None:
            if _pem_tee_id(pem) == tee_id:
                return pem, "the gateway's /signing-key"
            return None, f"{why}; the gateway's /signing-key belongs to another TEE"
    return None, why


# -- small decoders -----------------------------------------------------------------


def _signing_key(base_url: str | None) -> str | None:
    if not base_url:
        return None
    import httpx

    try:
        resp = httpx.get(base_url.rstrip("/") + "/signing-key", timeout=10)
        pem = resp.json().get("public_key") if resp.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None
    return pem if isinstance(pem, str) and pem.strip() else None


def _pem_tee_id(pem: str) -> str | None:
    from cryptography.hazmat.primitives import serialization

    try:
        der = load_public_key(pem).public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    except ValueError:
        return None
    return normalise_tee_id(tee_id_for(der))


def _base_units(opg: str | None) -> int | None:
    """A receipt's OPG string in base units; None when absent or not a number."""
    if not opg:
        return None
    try:
        return to_base_units(opg)
    except ConfigurationError:
        return None


def _first(exc: Exception) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]

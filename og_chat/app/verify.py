"""Check a receipt against the chain: what `og-chat receipts verify` runs.

Everything needed is in the receipt JSON plus one RPC URL, so an exported
receipt verifies on another machine:

- **output hash** — keccak of `output_text` equals `output_hash` (an edited
  answer fails here).
- **tee signature** — RSA-PSS over `(request_hash, output_hash, timestamp)`
  with the key the TEE registry holds for `tee_id`. Without a registry entry the
  devnet gateway's own `/signing-key` (if its key hashes to `tee_id`) is tried,
  but a match there is ✗ "unverified: the gateway vouches for itself": only the
  registry makes a signature verified.
- **payment** — the settlement transaction succeeded and moved OPG from the
  payer to `pay_to` (at least `charged_opg`). A payment that has not settled
  yet is a ✗ ("not settled yet"): verification proves what happened, and an
  unsettled authorization proves no payment. `og-chat receipts sync` (or the
  TUI) attaches the settlement once the gateway has settled the session.
- **data settlement** — `batch`: the receipt's own leaf, through its Merkle
  proof, reaches a root the settlement contract stores (`batchRoots`), posted
  by `batch_root_tx`; `individual`: the settlement transaction's
  `IndividualSettled` event carries this call's TEE id, request and output
  hashes and signature hash; `private`: nothing is posted, by design. On
  mainnet the gateway publishes no per-call proofs, so this check is left out.

No Textual or Rich here; web3 is imported on first use. What the settlement
tracker reads from the chain too lives in `onchain.py`, which both import.
"""

from __future__ import annotations

import base64
import contextlib
from dataclasses import replace
from typing import TYPE_CHECKING

from og_chat.sdk import merkle
from og_chat.sdk.addresses import DEVNET_OPG, DEVNET_SETTLEMENT, DEVNET_TEE_REGISTRY
from og_chat.sdk.chain import opg_text, to_base_units
from og_chat.sdk.errors import ConfigurationError
from og_chat.sdk.eth import keccak, web3_http
from og_chat.sdk.networks import NetworkProfile, mainnet_profile
from og_chat.sdk.tee import (
    CheckResult,
    fetch_active_tees,
    load_public_key,
    normalise_tee_id,
    tee_id_for,
    verify_signature,
)
from og_chat.sdk.types import PaymentStatus, Receipt, SignatureStatus

from .onchain import (
    TRANSFER_TOPIC,
    batch_root_posted,
    event_topic,
    settlement_address,
    topic_address,
    topic_hex,
    tx_hash,
)

if TYPE_CHECKING:
    from web3.types import TxReceipt

REGISTRY = "the TEE registry"
"""Where a key must come from for a signature to count as verified."""
_INDIVIDUAL_SETTLED = (
    "IndividualSettled(bytes32,bytes32,bytes32,bytes32,string,uint256,uint256,uint256,bytes)"
)
_INDIVIDUAL_DATA = ["bytes32", "string", "uint256", "uint256", "uint256", "bytes"]
"""The event's data: output hash, model, prompt and completion tokens, TEE timestamp, signature."""
_BATCH_SETTLED = "BatchSettled(bytes32,uint256,uint256)"


def verify_receipt(
    receipt: Receipt, profile: NetworkProfile, *, rpc_url: str | None = None
) -> list[CheckResult]:
    """Every check of one receipt, in a fixed order; blocking (reads the chain).

    `rpc_url` overrides the profile's payment-chain RPC (for the devnet it is
    `<devnet>/rpc`, which also serves the TEE registry).
    """
    rpc = rpc_url or profile.rpc_url
    results = [check_output_hash(receipt), check_signature(receipt, profile, rpc_url=rpc_url)]
    results.append(check_payment(receipt, profile, rpc))
    data = check_data_settlement(receipt, profile, rpc)
    if data is not None:
        results.append(data)
    return results


def profile_for_receipt(receipt: Receipt, rpc_url: str | None = None) -> NetworkProfile:
    """A profile to verify `receipt` with, from the receipt and an RPC URL alone.

    The devnet's contracts sit at fixed genesis addresses, so no gateway is
    needed; mainnet uses its constants with `rpc_url` as the Base RPC.
    """
    if receipt.network == "devnet":
        rpc = rpc_url or (receipt.endpoint.rstrip("/") + "/rpc" if receipt.endpoint else None)
        if not rpc:
            raise ConfigurationError(
                "this devnet receipt names no gateway", hint="pass --rpc-url <devnet>/rpc"
            )
        chain_id = 0
        with contextlib.suppress(Exception):  # the checks report an unreachable RPC one by one
            chain_id = int(web3_http(rpc).eth.chain_id)
        return NetworkProfile(
            name="devnet",
            chain_id=chain_id,
            rpc_url=rpc,
            opg=receipt.asset or DEVNET_OPG,
            registry_rpc=rpc,
            registry_address=DEVNET_TEE_REGISTRY,
            gateway_url=receipt.endpoint or None,
            extra={"settlement": DEVNET_SETTLEMENT},
        )
    profile = mainnet_profile()
    return replace(profile, rpc_url=rpc_url) if rpc_url else profile


# -- the checks -----------------------------------------------------------------------


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
    receipt: Receipt, profile: NetworkProfile, *, rpc_url: str | None = None
) -> CheckResult:
    """The TEE registered for `tee_id` signed this request/output pair at this time."""
    name = "tee signature"
    if not (receipt.tee_signature and receipt.request_hash and receipt.output_hash):
        return CheckResult(name, False, "the receipt carries no TEE signature")
    if receipt.tee_timestamp is None:
        return CheckResult(name, False, "the receipt has no TEE timestamp")
    key, source = tee_public_key(receipt, profile, rpc_url=rpc_url)
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
    receipt: Receipt, profile: NetworkProfile, *, rpc_url: str | None = None
) -> tuple[bytes | str | None, str]:
    """`(key, where it came from)`; `(None, why not)` when there is none to trust."""
    tee_id = normalise_tee_id(receipt.tee_id)
    if not tee_id:
        return None, "the receipt names no TEE id"
    registry_rpc = (rpc_url if profile.name == "devnet" else None) or profile.registry_rpc
    why = "no TEE registry is known for this network"
    if registry_rpc and profile.registry_address:
        try:
            tees = fetch_active_tees(registry_rpc, profile.registry_address)
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


def check_payment(receipt: Receipt, profile: NetworkProfile, rpc_url: str) -> CheckResult:
    """The settlement transaction moved OPG from the payer to `pay_to`."""
    name = "payment"
    status = receipt.payment_status
    if status == PaymentStatus.REFUSED.value:
        return CheckResult(name, False, "the payment was refused; nothing was paid")
    if status == PaymentStatus.FAILED.value:
        return CheckResult(
            name, False, f"the payment failed: {receipt.error or 'settlement failed'}"
        )
    if status != PaymentStatus.SETTLED.value or not receipt.payment_tx:
        what = receipt.authorization_digest or receipt.payment_hash or "no authorization"
        return CheckResult(
            name,
            False,
            f"not settled yet (authorization {what}); run `og-chat receipts sync` later",
        )
    if not (receipt.payer and receipt.pay_to):
        return CheckResult(name, False, "the receipt does not name the payer and payee")
    tx = _succeeded(name, rpc_url, receipt.payment_tx, where=f" via {rpc_url}")
    if isinstance(tx, CheckResult):
        return tx
    token = (receipt.asset or profile.opg).lower()
    moved = [
        int.from_bytes(bytes(log["data"]), "big")
        for log in tx["logs"]
        if str(log["address"]).lower() == token
        and len(log["topics"]) == 3
        and topic_hex(log["topics"][0]) == TRANSFER_TOPIC
        and topic_address(log["topics"][1]) == receipt.payer.lower()
        and topic_address(log["topics"][2]) == receipt.pay_to.lower()
    ]
    if not moved:
        return CheckResult(
            name,
            False,
            f"transaction {receipt.payment_tx} moved no OPG "
            f"from {receipt.payer} to {receipt.pay_to}",
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
        name,
        True,
        f"{opg_text(amount)} OPG {receipt.payer} → {receipt.pay_to} "
        f"in tx {receipt.payment_tx} (block {tx['blockNumber']})",
    )


def check_data_settlement(
    receipt: Receipt, profile: NetworkProfile, rpc_url: str
) -> CheckResult | None:
    """The call's metadata is on-chain as its settlement mode promises; None when not checkable."""
    mode = receipt.settlement_mode
    if mode == "private":
        return CheckResult(
            "data settlement", True, "private mode: only the payment goes on-chain, by design"
        )
    settlement = settlement_address(profile)
    if mode == "individual":
        return _check_individual(receipt, rpc_url, settlement)
    if mode == "batch":
        if settlement is None:
            return None  # mainnet: the gateway publishes no per-call proofs
        return _check_batch(receipt, rpc_url, settlement)
    return CheckResult("data settlement", False, f"unknown settlement mode {mode!r}")


def _check_batch(receipt: Receipt, rpc_url: str, settlement: str) -> CheckResult:
    name = "merkle proof"
    if receipt.merkle_proof is None or not receipt.batch_root or not receipt.merkle_leaf:
        return CheckResult(
            name, False, "no batch proof attached yet; run `og-chat receipts sync` later"
        )
    leaf = merkle.receipt_leaf(receipt)
    if leaf is None or leaf != receipt.merkle_leaf.lower():
        return CheckResult(
            name, False, "the stored leaf is not this receipt's (tee id, hashes, signature, time)"
        )
    try:
        reaches = merkle.verify_proof(leaf, list(receipt.merkle_proof), receipt.batch_root)
    except ValueError as exc:
        return CheckResult(name, False, f"the proof is malformed: {exc}")
    if not reaches:
        return CheckResult(
            name, False, f"the proof does not lead from the leaf to the root {receipt.batch_root}"
        )
    try:
        w3 = web3_http(rpc_url)
        posted = batch_root_posted(w3, settlement, receipt.batch_root)
    except Exception as exc:
        return CheckResult(name, False, f"could not read batchRoots via {rpc_url}: {_first(exc)}")
    if not posted:
        return CheckResult(name, False, f"the root {receipt.batch_root} was never posted on-chain")
    where = ""
    if receipt.batch_root_tx:
        try:
            tx = w3.eth.get_transaction_receipt(tx_hash(receipt.batch_root_tx))
        except Exception as exc:
            return CheckResult(
                name, False, f"batch root tx {receipt.batch_root_tx} not found: {_first(exc)}"
            )
        root_topic = topic_hex(receipt.batch_root)
        event = event_topic(_BATCH_SETTLED)
        if not any(
            str(log["address"]).lower() == settlement.lower()
            and len(log["topics"]) >= 2
            and topic_hex(log["topics"][0]) == event
            and topic_hex(log["topics"][1]) == root_topic
            for log in tx["logs"]
        ):
            return CheckResult(
                name,
                False,
                f"tx {receipt.batch_root_tx} did not post the root {receipt.batch_root}",
            )
        where = f" in tx {receipt.batch_root_tx} (block {tx['blockNumber']})"
    return CheckResult(
        name, True, f"the leaf is in batch root {receipt.batch_root}, posted on-chain{where}"
    )


def _check_individual(receipt: Receipt, rpc_url: str, settlement: str | None) -> CheckResult:
    name = "data settlement"
    if not receipt.data_settlement_tx:
        return CheckResult(
            name, False, "individual mode, but the receipt has no settlement transaction"
        )
    tx = _succeeded(name, rpc_url, receipt.data_settlement_tx)
    if isinstance(tx, CheckResult):
        return tx
    from eth_abi.abi import decode

    try:
        want = [
            event_topic(_INDIVIDUAL_SETTLED),
            topic_hex(receipt.tee_id or "0x0"),
            topic_hex(receipt.request_hash or "0x0"),
        ]  # topics 2 and 3; topic 1 is the call id
        signature = base64.b64decode(receipt.tee_signature or "")
        output_hash = topic_hex(receipt.output_hash or "0x0")
    except ValueError:
        return CheckResult(
            name, False, "the receipt's TEE id, hashes or signature are not well-formed"
        )
    for log in tx["logs"]:
        if settlement and str(log["address"]).lower() != settlement.lower():
            continue
        topics = [topic_hex(t) for t in log["topics"]]
        if len(topics) != 4 or [topics[0], *topics[2:]] != want:
            continue
        if receipt.call_id and topics[1] != topic_hex(receipt.call_id):
            continue
        settled_output, _model, _prompt, _completion, _ts, settled_signature = decode(
            _INDIVIDUAL_DATA, bytes(log["data"])
        )
        if "0x" + bytes(settled_output).hex() != output_hash:
            continue
        if bytes(settled_signature) != signature:
            return CheckResult(
                name, False, "the settled signature differs from the receipt's signature"
            )
        return CheckResult(
            name,
            True,
            f"request and output hashes settled in tx {receipt.data_settlement_tx} "
            f"(block {tx['blockNumber']})",
        )
    return CheckResult(
        name,
        False,
        f"tx {receipt.data_settlement_tx} carries no settlement of this call's TEE id and hashes",
    )


# -- small decoders -----------------------------------------------------------------


def _succeeded(name: str, rpc_url: str, tx: str, *, where: str = "") -> TxReceipt | CheckResult:
    """The mined receipt of `tx`, or the failed check `name` saying why not."""
    try:
        mined = web3_http(rpc_url).eth.get_transaction_receipt(tx_hash(tx))
    except Exception as exc:
        return CheckResult(name, False, f"transaction {tx} not found{where}: {_first(exc)}")
    if int(mined["status"]) != 1:
        return CheckResult(name, False, f"transaction {tx} reverted")
    return mined


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

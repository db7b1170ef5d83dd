"""The devnet operator's transactions, and the contract reads the devnet serves.

The operator owns OPG, the TEE registry and the data-settlement contract, and signs
every facilitator settlement. Its writes are EIP-1559 transactions at its next pending
nonce, simulated first so a revert surfaces with its reason instead of a status 0.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from og_chat.sdk.addresses import DEVNET_SETTLEMENT, DEVNET_TEE_REGISTRY
from og_chat.sdk.eth import checksum, from_hex, hex0x, keccak, word, word32

from .genesis import OPERATOR, DevAccount
from .indexer import TxResult
from .node import MAX_FEE_PER_GAS, PRIORITY_FEE_PER_GAS, ChainRevert, Node

DEFAULT_GAS = 500_000
_TEE_FIELDS = (
    "owner",
    "paymentAddress",
    "endpoint",
    "publicKey",
    "tlsCertificate",
    "pcrHash",
    "teeType",
    "enabled",
    "registeredAt",
    "lastHeartbeatAt",
    "ohttpConfig",
)
_OHTTP_FIELDS = ("keyId", "kemId", "kdfId", "aeadId", "publicKey", "keyConfig", "registeredAt")


@dataclass(frozen=True)
class IndividualCall:
    """One call in full, as `settleIndividual` posts it (individual mode)."""

    call_id: str
    """The gateway's id for the call, 0x + 64 hex digits."""
    model: str
    """The full model id (`openai/gpt-4.1-mini`)."""
    input: str
    """The canonical request the TEE signed, as UTF-8 JSON (it holds the messages)."""
    output: str
    """The answer text as signed: its keccak is the output hash."""
    prompt_tokens: int
    completion_tokens: int
    tee_id: str
    request_hash: str
    """keccak of the canonical request's `json.dumps(sort_keys=True)` (ASCII-escaped) form."""
    timestamp: int
    signature: bytes
    """The raw RSA-PSS signature (base64-decoded)."""

    @property
    def gas(self) -> int:
        """What `settleIndividual` needs: calldata, the copies to memory, the event's data.

        Linear in the text (16 gas a calldata byte, 8 a log byte, hashing and copying) plus
        memory expansion, which is quadratic; twice that as a margin, since a revert for
        want of gas would lose the record.
        """
        size = len(self.model.encode()) + len(self.input.encode()) + len(self.output.encode())
        size += len(self.signature)
        words = size // 32 + 1
        return 70_000 + 2 * (40 * size + 3 * words + words * words // 512)

    def args(self) -> tuple[object, ...]:
        """The `IndividualCall` struct, in the contract's field order."""
        return (
            word32(self.call_id),
            self.model,
            self.input,
            self.output,
            int(self.prompt_tokens),
            int(self.completion_tokens),
            word(self.tee_id),
            word32(self.request_hash),
            int(self.timestamp),
            self.signature,
        )


@dataclass(frozen=True)
class PrivateRecord:
    """One private-mode call as `recordCalls` posts it: the TEE's signed fields, hashes only."""

    call_id: str
    tee_id: str
    request_hash: str
    """hex, with or without 0x."""
    output_hash: str
    timestamp: int
    signature_hash: str
    """keccak of the raw signature, hex."""

    def args(self) -> tuple[object, ...]:
        """The `CallRecord` struct, in the contract's field order."""
        return (
            word32(self.call_id),
            word(self.tee_id),
            word32(self.request_hash),
            word32(self.output_hash),
            int(self.timestamp),
            word32(self.signature_hash),
        )


RECORD_GAS = 9_000
"""Gas per `CallRecorded` event in `recordCalls` (calldata, the log; measured ≈ 6,000)."""
LEAF_GAS = 8_000
"""Gas per leaf in `postBatchRoot` (calldata, the `BatchLeaf` log, hashing; measured ≈ 5,000)."""


class Operator:
    """The operator account acting on a `Node`: signed writes and the devnet's contract reads."""

    def __init__(self, node: Node, account: DevAccount = OPERATOR) -> None:
        self.node = node
        self.account = account

    @property
    def address(self) -> str:
        """The operator's address (the facilitator address clients see)."""
        return self.account.address

    @property
    def private_key(self) -> str:
        """The operator's key: a published test key, like every devnet key."""
        return self.account.private_key

    # -- signing and sending ---------------------------------------------------------

    def sign_tx(self, to: str, data: bytes, *, gas: int, value: int = 0) -> bytes:
        """Worker: a signed EIP-1559 transaction from the operator at its next pending nonce."""
        from eth_account import Account

        tx = {
            "type": 2,
            "chainId": self.node.chain_id,
            "nonce": self.node.pending_nonce(self.address),
            "to": to,
            "value": value,
            "data": data,
            "gas": gas,
            "maxFeePerGas": MAX_FEE_PER_GAS,
            "maxPriorityFeePerGas": PRIORITY_FEE_PER_GAS,
        }
        return bytes(Account.sign_transaction(tx, self.private_key).raw_transaction)

    def queue(self, to: str, data: bytes, *, gas: int, value: int = 0) -> cf.Future[TxResult]:
        """Worker: sign and queue an operator transaction; the future resolves when mined."""
        return self.node.queue_raw(self.sign_tx(to, data, gas=gas, value=value))[1]

    async def transact(
        self, to: str, data: bytes, *, gas: int = DEFAULT_GAS, value: int = 0, simulate: bool = True
    ) -> TxResult:
        """Send a transaction from the operator and wait for it; ChainRevert if it would revert."""

        def send() -> cf.Future[TxResult]:
            if simulate:
                self.node.simulate(to, data)
            return self.queue(to, data, gas=gas, value=value)

        result = await self.node.mined(await asyncio.wrap_future(self.node.submit(send)))
        if result.status != 1:
            raise ChainRevert("transaction reverted on-chain", tx_hash=result.tx_hash)
        return result

    # -- writes ------------------------------------------------------------------------

    async def fund(self, address: str, opg: int, eth: int = 10**18) -> None:
        """Mint `opg` base units and send `eth` wei to `address` (both in the same block)."""
        target = checksum(address)
        mint = _encode(self.node.contract("OPGToken").functions.mint(target, int(opg)))

        def send() -> list[cf.Future[TxResult]]:
            futures = []
            if opg:
                futures.append(self.queue(self.node.addresses.opg, mint, gas=100_000))
            if eth:
                futures.append(self.queue(target, b"", gas=21_000, value=int(eth)))
            return futures

        for fut in await asyncio.wrap_future(self.node.submit(send)):
            result = await self.node.mined(fut)
            if result.status != 1:
                raise ChainRevert("funding transaction reverted", tx_hash=result.tx_hash)

    async def register_tee(
        self,
        *,
        payment_address: str,
        endpoint: str,
        public_key_der: bytes,
        tls_certificate_der: bytes,
        tee_type: int = 0,
        pcr_hash: bytes = b"\x00" * 32,
    ) -> str:
        """Register a TEE in the registry; returns its id, `0x` + keccak256(public key DER)."""
        call = self.node.contract("TEERegistry").functions.registerTEE(
            checksum(payment_address),
            endpoint,
            public_key_der,
            tls_certificate_der,
            pcr_hash,
            tee_type,
        )
        stored = len(public_key_der) + len(tls_certificate_der) + len(endpoint)
        gas = 400_000 + 25_000 * (stored // 32 + 1)
        await self.transact(DEVNET_TEE_REGISTRY, _encode(call), gas=gas)
        return hex0x(keccak(public_key_der))

    async def post_batch_root(self, root: bytes, leaves: Sequence[tuple[str, bytes]]) -> TxResult:
        """Post the Merkle root of `(call id, leaf)` pairs; emits a `BatchLeaf` per leaf and
        `BatchSettled`. The contract recomputes the root and reverts unless it is `root`."""
        call = self.node.contract("DataSettlement").functions.postBatchRoot(
            root, [word32(c) for c, _ in leaves], [leaf for _, leaf in leaves]
        )
        gas = 120_000 + LEAF_GAS * len(leaves)
        return await self.transact(DEVNET_SETTLEMENT, _encode(call), gas=gas)

    async def record_calls(self, records: Sequence[PrivateRecord]) -> TxResult:
        """Post private-mode records, one `CallRecorded` event each, in one transaction."""
        call = self.node.contract("DataSettlement").functions.recordCalls(
            [r.args() for r in records]
        )
        gas = 60_000 + RECORD_GAS * len(records)
        return await self.transact(DEVNET_SETTLEMENT, _encode(call), gas=gas)

    def _individual_call(self, call: IndividualCall) -> bytes:
        """`settleIndividual` calldata for one call."""
        fn = self.node.contract("DataSettlement").functions.settleIndividual(call.args())
        return _encode(fn)

    async def settle_individual(self, call: IndividualCall) -> TxResult:
        """Post one call on-chain and wait for it; emits `IndividualSettled`."""
        return await self.transact(DEVNET_SETTLEMENT, self._individual_call(call), gas=call.gas)

    async def submit_individual(self, call: IndividualCall) -> str:
        """`settle_individual` without waiting for the block: the tx hash once it is queued.

        An answer should not wait for a block (up to ~1 s when the py-evm clock is
        paced); `Node.wait_for_tx` reports the outcome later.
        """
        data = self._individual_call(call)

        def send() -> str:
            return self.node.queue_raw(self.sign_tx(DEVNET_SETTLEMENT, data, gas=call.gas))[0]

        return await asyncio.wrap_future(self.node.submit(send))

    # -- reads -------------------------------------------------------------------------

    async def opg_balance(self, owner: str) -> int:
        """OPG balance of `owner`, base units."""
        call = self.node.contract("OPGToken").functions.balanceOf(checksum(owner))
        return int(await self.node.run(lambda _: call.call()))

    async def allowance(self, owner: str, spender: str) -> int:
        """OPG allowance `owner` → `spender` (usually Permit2), base units."""
        call = self.node.contract("OPGToken").functions.allowance(
            checksum(owner), checksum(spender)
        )
        return int(await self.node.run(lambda _: call.call()))

    async def eth_balance(self, owner: str) -> int:
        """ETH balance of `owner`, wei."""
        target = checksum(owner)
        return int(await self.node.run(lambda _: self.node.eth.get_balance(target)))

    async def permit2_nonce_used(self, owner: str, nonce: int) -> bool:
        """Whether `owner`'s Permit2 unordered nonce is consumed (or invalidated)."""
        call = self.node.contract("Permit2").functions.nonceBitmap(checksum(owner), nonce >> 8)
        bitmap = int(await self.node.run(lambda _: call.call()))
        return bool(bitmap >> (nonce & 0xFF) & 1)

    async def active_tees(self, tee_type: int = 0) -> list[dict[str, Any]]:
        """`getActiveTEEs(tee_type)`: each TEE a dict with the registry's field names + `teeId`."""
        call = self.node.contract("TEERegistry").functions.getActiveTEEs(tee_type)
        rows = await self.node.run(lambda _: call.call())
        out = []
        for row in rows:
            info = dict(zip(_TEE_FIELDS, row, strict=True))
            info["ohttpConfig"] = dict(zip(_OHTTP_FIELDS, info["ohttpConfig"], strict=True))
            info["teeId"] = hex0x(keccak(bytes(info["publicKey"])))
            out.append(info)
        return out

    async def batch_root_info(self, root: bytes) -> tuple[int, int] | None:
        """`(count, timestamp)` of a posted batch root, or None if it was never posted."""
        call = self.node.contract("DataSettlement").functions.batchRoots(root)
        count, ts = await self.node.run(lambda _: call.call())
        return None if int(ts) == 0 else (int(count), int(ts))


def _encode(call: Any) -> bytes:
    """The calldata of a web3 contract function call."""
    return from_hex(call._encode_transaction_data())

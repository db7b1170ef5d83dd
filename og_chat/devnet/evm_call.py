"""Calls on the py-evm chain that change nothing: `eth_call`, gas estimation, access lists.

Each call runs the EVM directly on a throw-away state at the block asked for (no web3
round trip), so the outcome keeps what eth-tester would flatten: the raw revert data,
the gas used before and after refunds, the error's kind, and, when asked, every
account and storage slot the call touched (`eth_createAccessList`). The sender's
balance is topped up for gas inside that state, so a call from an empty address still
runs; a `value` must be covered by the sender's own balance, as on anvil.

Worker thread only, py-evm backend only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from og_chat.sdk.addresses import ZERO_ADDRESS
from og_chat.sdk.eth import from_hex

from .chain_errors import ChainRevert, RpcError
from .evm_rules import timed_out

GAS_TOP_UP_PRICE = 50 * 10**9
"""Wei per gas credited to a call's sender inside the throw-away state."""
PRECOMPILES = frozenset((i).to_bytes(20, "big") for i in range(1, 0x12))
"""Addresses 0x01…0x11 (Prague's precompiles): never listed in an access list."""


@dataclass(frozen=True)
class CallRequest:
    """What to run: the fields of a JSON-RPC call object, decoded."""

    sender: str = ZERO_ADDRESS
    to: str | None = None
    """None: a contract creation (`data` is the init code)."""
    data: bytes = b""
    value: int = 0
    gas: int = 0
    access_list: tuple[tuple[str, tuple[int, ...]], ...] = ()


@dataclass
class CallOutcome:
    """How a call ended."""

    output: bytes
    gas_used: int
    """Gas charged, refunds deducted (a receipt's gasUsed)."""
    gas_needed: int
    """Gas consumed before refunds: the least gas limit that can run it."""
    error: Exception | None
    revert: bytes | None
    """The revert data when the call reverted (REVERT), else None."""
    timed_out: bool
    touched: dict[bytes, set[int]] = field(default_factory=dict)
    """Accounts (and their storage slots) the call warmed, when recorded."""

    @property
    def ok(self) -> bool:
        """True when the call ran to its end."""
        return self.error is None


def execute(
    backend: Any,
    request: CallRequest,
    block: Any,
    *,
    record: bool = False,
    after: Sequence[bytes] = (),
    credit: tuple[str, int] | None = None,
) -> CallOutcome:
    """Run `request` on the state of `block` (a tag or number eth-tester understands).

    `after` applies signed transactions first, in the same throw-away state (a bundle
    simulated as a whole: a sponsored approval, then the settlement it enables), and
    `credit` adds wei to one account before them (the gas funding that precedes the
    approval); a bundle transaction that fails is a ChainRevert.
    """
    from eth.exceptions import Revert
    from eth_tester.backends.pyevm.main import EVMSpoofTransaction, _get_vm_for_block_number

    sender = from_hex(request.sender)
    tx: dict[str, Any] = {
        "from": sender,
        "to": from_hex(request.to) if request.to else b"",
        "data": request.data,
        "gas": request.gas,
        "value": request.value,
    }
    if request.access_list:
        tx["access_list"] = tuple((from_hex(a), tuple(slots)) for a, slots in request.access_list)
    try:
        unsigned = backend._get_normalized_and_unsigned_evm_transaction(tx, block)
        vm = _get_vm_for_block_number(backend.chain, block)
    except Exception as exc:
        raise RpcError(-32602, f"cannot build the call: {exc}") from None
    state = vm.state
    touched: dict[bytes, set[int]] = {}
    if record:
        _record_warm_marks(state, touched)
    if state.get_balance(sender) < request.value:
        raise RpcError(-32003, "Insufficient funds for gas * price + value")
    snapshot = state.snapshot()
    try:
        if credit is not None:
            who = from_hex(credit[0])
            state.set_balance(who, state.get_balance(who) + credit[1])
        for raw in after:
            applied = state.apply_transaction(vm.get_transaction_builder().decode(raw))
            if applied.is_error:
                raise ChainRevert(f"a transaction of the bundle reverted: {applied.error}")
        state.set_balance(sender, state.get_balance(sender) + request.gas * GAS_TOP_UP_PRICE)
        computation = state.apply_transaction(EVMSpoofTransaction(unsigned, from_=sender))
    except ChainRevert:
        raise
    except Exception as exc:  # py-evm's ValidationError: intrinsic gas, nonce, …
        raise RpcError(-32000, f"call failed: {exc}") from None
    finally:
        state.revert(snapshot)
    raw_used = request.gas - int(computation.get_gas_remaining())
    refund = min(int(computation.get_gas_refund()), raw_used // 5)
    error = computation.error if computation.is_error else None
    return CallOutcome(
        output=bytes(computation.output),
        gas_used=raw_used - refund,
        gas_needed=raw_used,
        error=error,
        revert=bytes(error.args[0]) if isinstance(error, Revert) and error.args else None,
        timed_out=timed_out(computation),
        touched=touched,
    )


def access_list(
    request: CallRequest, touched: dict[bytes, set[int]], coinbase: bytes
) -> list[tuple[str, tuple[int, ...]]]:
    """The access list of a call, as anvil builds it: every account the code reached and
    every slot it read or wrote; the sender, the recipient and precompiles appear only
    with storage slots (they are warm anyway)."""
    excluded = {from_hex(request.sender), coinbase, *PRECOMPILES}
    if request.to:
        excluded.add(from_hex(request.to))
    out: dict[bytes, set[int]] = {from_hex(a): set(s) for a, s in request.access_list}
    for account, slots in touched.items():
        if slots or account not in excluded:
            out.setdefault(account, set()).update(slots)
    return [("0x" + a.hex(), tuple(sorted(s))) for a, s in out.items()]


def _record_warm_marks(state: Any, touched: dict[bytes, set[int]]) -> None:
    """Note every account and slot this (throw-away) state marks warm from now on."""
    mark_address, mark_storage = state.mark_address_warm, state.mark_storage_warm

    def address_warm(address: bytes) -> None:
        touched.setdefault(bytes(address), set())
        mark_address(address)

    def storage_warm(address: bytes, slot: int) -> None:
        touched.setdefault(bytes(address), set()).add(int(slot))
        mark_storage(address, slot)

    state.mark_address_warm = address_warm
    state.mark_storage_warm = storage_warm

"""The EVM the devnet's py-evm chain runs: Prague, with a dev node's block clock and a
time limit for calls.

* Block clock. py-evm applies mainnet's header rule: a block's timestamp is strictly
  later than its parent's, so a chain that seals more than one block a second runs its
  clock ahead of the wall clock (reference/devnet-chain.md §1, pitfall 2) until
  authorization windows expire. anvil and every dev node relax that rule: a block
  carries the wall clock, or its parent's timestamp if the wall clock has not moved
  on, so blocks may share a second. This VM does the same, so blocks can be sealed as
  fast as transactions come and the chain clock never runs ahead.
* Time limit. py-evm runs about 3 M gas of a tight loop per second, on the one thread
  every paid call also needs. A call run under `time_limit()` (eth_call, eth_estimateGas
  on `/rpc`) is aborted at its first jump or call past the deadline, as geth's
  `--rpc.evmtimeout` aborts one; transactions never run under a limit. The limit is
  in the worker thread's CPU time: the devnet shares one GIL with its gateway (and, in
  tests, with the client), so on a busy machine an 80 ms registry read could spend a
  wall-clock second waiting for its turn and be aborted for it. A wall-clock backstop,
  several times longer, still bounds how long one call holds the worker however the
  machine is loaded (or however long its reads of the state wait on the disk).
* Memos. py-evm memoizes trie work in process-wide caches that outlive the block that
  filled them; `forget_memos()` empties them once a block is sealed (see there).

py-evm is imported only when the class is built (`devnet_vm()`), on the chain's boot.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections.abc import Iterator
from typing import Any

_CHECKED_OPCODES = (0x56, 0x57, 0xF0, 0xF1, 0xF2, 0xF4, 0xF5, 0xFA)
"""JUMP, JUMPI, CREATE, CALL, CALLCODE, DELEGATECALL, CREATE2, STATICCALL: every loop
and every way into more code passes one of them."""


class _Deadline(threading.local):
    at: float | None = None
    """`time.thread_time()` past which the call is aborted."""
    wall_at: float = 0.0
    """`time.monotonic()` past which it is aborted too."""


_deadline = _Deadline()


@contextlib.contextmanager
def time_limit(seconds: float, wall: float) -> Iterator[None]:
    """Run EVM calls inside this block with a limit of `seconds` of this thread's CPU time
    and `wall` seconds of the wall clock, whichever comes first."""
    _deadline.at = time.thread_time() + seconds
    _deadline.wall_at = time.monotonic() + wall
    try:
        yield
    finally:
        _deadline.at = None


def timed_out(computation: Any) -> bool:
    """Whether a finished computation was aborted by `time_limit()`."""
    return bool(computation.is_error) and isinstance(computation.error, _execution_timeout())


@functools.cache
def _execution_timeout() -> type[Exception]:
    from eth.exceptions import VMError

    class ExecutionTimeout(VMError):
        """A call ran past its `time_limit()`; it burns its gas like any VM error."""

    return ExecutionTimeout


@functools.cache
def devnet_vm() -> type[Any]:
    """Prague with blocks that may share their parent's second (as anvil's are)."""
    from eth.vm.forks.prague import PragueVM
    from eth.vm.forks.prague.computation import PragueComputation
    from eth.vm.forks.prague.state import PragueState

    timeout = _execution_timeout()

    def checked(opcode: Any) -> Any:
        def run(computation: Any) -> Any:
            at = _deadline.at
            if at is not None and (time.thread_time() > at or time.monotonic() > _deadline.wall_at):
                raise timeout("execution aborted: the call ran past its time limit")
            return opcode(computation=computation)

        run.__wrapped__ = opcode  # type: ignore[attr-defined]  # py-evm reads .mnemonic here
        return run

    class DevnetPragueComputation(PragueComputation):
        """Prague's opcodes, with the time check on jumps, calls and creates."""

        opcodes = {  # noqa: RUF012  # py-evm's own class attribute, replaced whole
            **PragueComputation.opcodes,
            **{op: checked(PragueComputation.opcodes[op]) for op in _CHECKED_OPCODES},
        }

    class DevnetPragueState(PragueState):
        computation_class = DevnetPragueComputation

    prague_header = PragueVM.create_header_from_parent

    class DevnetPragueVM(PragueVM):
        """PragueVM whose header clock is `max(wall clock, parent's timestamp)`."""

        _state_class = DevnetPragueState

        @staticmethod
        def create_header_from_parent(parent_header: Any, **header_params: Any) -> Any:
            if parent_header is not None and "timestamp" not in header_params:
                header_params["timestamp"] = max(int(time.time()), parent_header.timestamp)
            return prague_header(parent_header, **header_params)

        @classmethod
        def validate_header(cls, header: Any, parent_header: Any) -> None:
            if parent_header is not None and header.timestamp == parent_header.timestamp:
                # The one rule relaxed: equal timestamps pass; every other check still runs.
                parent_header = parent_header.copy(timestamp=parent_header.timestamp - 1)
            super().validate_header(header, parent_header)

    return DevnetPragueVM


def forget_memos() -> None:
    """Empty py-evm's process-wide memo caches; the node calls it after every sealed block.

    `HexaryTrie._cached_create_node_to_db_mapping` (4,096 trie nodes with their encodings,
    and every trie object they came from) and `eth.db.trie._make_trie_root_and_nodes`
    (128 whole transaction and receipt lists with their trie nodes) are bounded, but hold
    ≈ 10 MB once full, which a devnet reaches only after thousands of paid calls: its memory
    then grows for that long. Their hits are within a block (the same lists re-rooted as
    transactions are added); across blocks they are dead weight.
    """
    from eth.db import trie as eth_trie
    from trie.hexary import HexaryTrie

    HexaryTrie._cached_create_node_to_db_mapping.cache_clear()
    eth_trie._make_trie_root_and_nodes.cache_clear()

"""The EVM the devnet's py-evm chain runs: Prague, with a dev node's block clock.

py-evm applies mainnet's header rule: a block's timestamp is strictly later than its
parent's, so a chain that seals more than one block a second runs its clock ahead of
the wall clock (reference/devnet-chain.md §1, pitfall 2) until authorization windows
expire. anvil and every dev node relax that rule: a block carries the wall clock, or
its parent's timestamp if the wall clock has not moved on, so blocks may share a
second. This VM does the same, so blocks can be sealed as fast as transactions come
and the chain clock never runs ahead.

py-evm is imported only when the class is built (`devnet_vm()`), on the chain's boot.
"""

from __future__ import annotations

import functools
import time
from typing import Any


@functools.cache
def devnet_vm() -> type[Any]:
    """Prague with blocks that may share their parent's second (as anvil's are)."""
    from eth.vm.forks.prague import PragueVM

    prague_header = PragueVM.create_header_from_parent

    class DevnetPragueVM(PragueVM):
        """PragueVM whose header clock is `max(wall clock, parent's timestamp)`."""

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

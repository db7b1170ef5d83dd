"""The chain's typed errors: a revert, and a JSON-RPC error answer; every chain module raises them."""

from __future__ import annotations

from typing import Any

from og_chat.sdk.errors import ChainError


class ChainRevert(ChainError):
    """A call or transaction reverted; `reason` is the revert string or custom error name."""

    def __init__(self, reason: str, *, data: str = "", tx_hash: str = "") -> None:
        self.reason = reason
        self.data = data
        self.tx_hash = tx_hash
        super().__init__(
            f"the devnet chain reverted: {reason}",
            hint="the transaction was not applied; the reason names the failed check",
        )


class RpcError(ChainError):
    """A JSON-RPC error answer: `code`, `message` and optional `data`, as the wire has them."""

    def __init__(self, code: int, message: str, data: str | None = None) -> None:
        self.code = code
        self.message = message
        self.data = data
        super().__init__(f"JSON-RPC error {code}: {message}")

    def rpc(self) -> dict[str, Any]:
        """The JSON-RPC `error` object."""
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            out["data"] = self.data
        return out

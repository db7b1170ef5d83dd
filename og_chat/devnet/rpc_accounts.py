"""The devnet's own test accounts over JSON-RPC: signing and sending for them, as anvil does.

anvil unlocks the ten accounts of the `test … junk` mnemonic: `eth_accounts` lists them,
and `eth_sign`, `personal_sign`, `eth_signTypedData_v4`, `eth_signTransaction` and
`eth_sendTransaction` sign with their published keys. The devnet funds the same ten
accounts, so it does the same for exactly them; any other `from` is refused with
anvil's "No Signer available". The operator's key signs only the devnet's own
transactions (its nonces are the facilitator's), never one asked for over `/rpc`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from og_chat.sdk.eth import checksum

from .chain_errors import RpcError
from .genesis import TEST_ACCOUNTS
from .rpc_params import TxFields

DEFAULT_PRIORITY_FEE = 10**9
"""`maxPriorityFeePerGas` of a transaction that names none (anvil's 1 gwei)."""


class DevAccounts:
    """Keys of the unlocked test accounts, by lower-case address."""

    def __init__(self) -> None:
        self._keys = {a.address.lower(): a.private_key for a in TEST_ACCOUNTS}

    def addresses(self) -> list[str]:
        """`eth_accounts`: lower case, in mnemonic order (as anvil lists them)."""
        return list(self._keys)

    def key(self, address: str) -> str:
        """The key of an unlocked account; RpcError(-32602) for any other address."""
        key = self._keys.get(address.lower())
        if key is None:
            raise RpcError(-32602, "No Signer available")
        return key

    def sign_message(self, address: str, message: bytes) -> str:
        """`eth_sign` / `personal_sign`: an EIP-191 signature over `message`."""
        from eth_account import Account
        from eth_account.messages import encode_defunct

        signed = Account.sign_message(encode_defunct(primitive=message), self.key(address))
        return "0x" + bytes(signed.signature).hex()

    def sign_typed_data(self, address: str, typed: Any) -> str:
        """`eth_signTypedData_v4`: an EIP-712 signature; `typed` is the object or its JSON."""
        from eth_account import Account

        key = self.key(address)
        if isinstance(typed, str):
            try:
                typed = json.loads(typed)
            except ValueError:
                raise RpcError(-32602, "invalid params: typed data is not valid JSON") from None
        if not isinstance(typed, dict):
            raise RpcError(-32602, "invalid params: typed data must be an object")
        try:
            signed = Account.sign_typed_data(key, full_message=typed)
        except Exception as exc:
            raise RpcError(-32602, f"invalid params: typed data: {exc}") from None
        return "0x" + bytes(signed.signature).hex()

    def sign_transaction(
        self,
        fields: TxFields,
        *,
        chain_id: int,
        nonce: Callable[[str], int],
        base_fee: int,
        estimate: Callable[[TxFields], int],
    ) -> bytes:
        """Fill what the caller left out (nonce, gas, fees, type) and sign, as anvil does."""
        from eth_account import Account

        if fields.sender is None:
            raise RpcError(-32602, "invalid params: transaction.from is required")
        key = self.key(fields.sender)
        if fields.chain_id is not None and fields.chain_id != chain_id:
            raise RpcError(
                -32602,
                f"transaction-provided chain ID ({fields.chain_id}) does not match the "
                f"signer's chain ID ({chain_id})",
            )
        tx: dict[str, Any] = {
            "chainId": chain_id,
            "nonce": fields.nonce if fields.nonce is not None else nonce(fields.sender),
            "value": fields.value,
            "data": fields.data,
            "gas": fields.gas if fields.gas is not None else estimate(fields),
        }
        if fields.to is not None:
            tx["to"] = checksum(fields.to)
        legacy = fields.gas_price is not None or fields.type in (0, 1)
        if legacy:
            tx["gasPrice"] = fields.gas_price if fields.gas_price is not None else base_fee * 2
            if fields.access_list is not None or fields.type == 1:
                tx["type"] = 1
                tx["accessList"] = _access_list(fields)
        else:
            priority = (
                fields.max_priority_fee_per_gas
                if fields.max_priority_fee_per_gas is not None
                else DEFAULT_PRIORITY_FEE
            )
            tx["type"] = 2
            tx["maxPriorityFeePerGas"] = priority
            tx["maxFeePerGas"] = (
                fields.max_fee_per_gas
                if fields.max_fee_per_gas is not None
                else 2 * base_fee + priority
            )
            tx["accessList"] = _access_list(fields)
        try:
            return bytes(Account.sign_transaction(tx, key).raw_transaction)
        except Exception as exc:
            raise RpcError(-32602, f"invalid params: cannot sign the transaction: {exc}") from None


def _access_list(fields: TxFields) -> list[dict[str, Any]]:
    return [
        {"address": checksum(a), "storageKeys": ["0x" + s.to_bytes(32, "big").hex() for s in slots]}
        for a, slots in fields.access_list or ()
    ]

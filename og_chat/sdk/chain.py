"""Chain reads and the one transaction the client sends: OPG approval for Permit2.

web3 is imported on first use. Amounts are Decimal OPG at the edges and
integer base units (18 decimals) inside.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from . import keys, rpc
from .errors import ChainError, ConfigurationError
from .eth import abi_function, checksum, hex0x, web3_http
from .networks import NetworkProfile
from .opg import ONE_OPG, opg_display, to_base_units
from .types import Permit2ApprovalResult

MIN_APPROVAL_OPG = Decimal("0.1")
"""The gateway's session cap; a smaller allowance cannot pay a single session."""

_ERC20_ABI = [
    abi_function("balanceOf", "owner:address", ":uint256", view=True),
    abi_function("allowance", "owner:address spender:address", ":uint256", view=True),
    abi_function("transfer", "to:address amount:uint256", ":bool"),
    abi_function("approve", "spender:address amount:uint256", ":bool"),
]


@dataclass(frozen=True)
class Balances:
    """A wallet's standing on the payment chain, base units."""

    address: str
    opg: int
    allowance: int
    """OPG the wallet lets Permit2 move."""
    eth: int


class ChainClient:
    """Synchronous web3 access to one profile's payment chain."""

    def __init__(self, profile: NetworkProfile) -> None:
        self.profile = profile
        self._w3: Any = None

    @property
    def w3(self) -> Any:
        """The Web3 instance, created on first use."""
        if self._w3 is None:
            self._w3 = web3_http(self.profile.rpc_url, verify=self.profile.rpc_verify)
        return self._w3

    def _checked_w3(self) -> Any:
        """The Web3, after checking the RPC serves the profile's chain: a transaction is
        signed for the chain id the RPC reports, so a lying RPC must not pick it."""
        chain_id = int(self.w3.eth.chain_id)
        if chain_id != self.profile.chain_id:
            raise ChainError(
                f"the RPC {self.profile.rpc_url} serves chain {chain_id}, "
                f"not {self.profile.name}'s chain {self.profile.chain_id}; nothing was signed"
            )
        return self.w3

    def _token(self) -> Any:
        return self.w3.eth.contract(address=checksum(self.profile.opg), abi=_ERC20_ABI)

    def _call(self, what: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except ChainError:
            raise
        except Exception as exc:
            raise ChainError(
                f"{what} failed on {self.profile.name} ({self.profile.rpc_url}): {exc}",
                hint="check the RPC URL and your connection",
            ) from None

    def balances(self, address: str) -> Balances:
        """OPG balance, Permit2 allowance and ETH balance of `address`.

        Three plain JSON-RPC reads (`rpc`), so reading a wallet does not load web3.
        """
        owner = checksum(address)
        url, token = self.profile.rpc_url, checksum(self.profile.opg)
        permit2, verify = checksum(self.profile.permit2), self.profile.rpc_verify
        try:
            opg = rpc.uint_at(
                rpc.eth_call(url, token, rpc.call_data("balanceOf(address)", owner), verify=verify),
                0,
            )
            allowance = rpc.uint_at(
                rpc.eth_call(
                    url,
                    token,
                    rpc.call_data("allowance(address,address)", owner, permit2),
                    verify=verify,
                ),
                0,
            )
            eth = rpc.quantity(rpc.request(url, "eth_getBalance", [owner, "latest"], verify=verify))
        except ChainError as exc:
            raise ChainError(
                f"reading balances failed on {self.profile.name} ({url}): {exc}",
                hint="check the RPC URL and your connection",
            ) from None
        return Balances(address=owner, opg=opg, allowance=allowance, eth=eth)

    def next_transaction_fees(self, address: str, default_tip: int) -> keys.TxFees:
        """The pending nonce and the fees per gas for a transaction `address` signs now
        (plain JSON-RPC: a sponsored approval loads no web3).

        The RPC must serve the profile's chain first (a signed transaction binds the chain
        id the profile names). The fee cap is twice the base fee plus the tip, as the x402
        reference client computes it; `default_tip` when the RPC suggests none.
        """

        def read() -> keys.TxFees:
            url, verify = self.profile.rpc_url, self.profile.rpc_verify
            chain_id = rpc.quantity(rpc.request(url, "eth_chainId", [], verify=verify))
            if chain_id != self.profile.chain_id:
                raise ChainError(
                    f"the RPC {url} serves chain {chain_id}, "
                    f"not {self.profile.name}'s chain {self.profile.chain_id}; nothing was signed"
                )
            count = [checksum(address), "pending"]
            nonce = rpc.quantity(rpc.request(url, "eth_getTransactionCount", count, verify=verify))
            block = rpc.request(url, "eth_getBlockByNumber", ["latest", False], verify=verify)
            base_fee = rpc.quantity((block or {}).get("baseFeePerGas") or "0x0")
            try:
                tip = rpc.quantity(rpc.request(url, "eth_maxPriorityFeePerGas", [], verify=verify))
            except ChainError:  # not every node answers eth_maxPriorityFeePerGas
                tip = default_tip
            return keys.TxFees(nonce, max_fee=2 * base_fee + tip, max_priority_fee=tip)

        result: keys.TxFees = self._call("reading the nonce and fees", read)
        return result

    def ensure_opg_approval(
        self,
        private_key: str,
        min_allowance: Decimal | float | str,
        approve_amount: Decimal | float | str | None = None,
        *,
        on_progress: Callable[[str], None] | None = None,
        timeout: float = 120.0,
    ) -> Permit2ApprovalResult:
        """Make sure Permit2 may move at least `min_allowance` OPG; approve if not.

        Semantics of the official SDK: the threshold is `min_allowance`, the
        approval `approve_amount` (default 2× the minimum), capped at the balance.
        eth_account and web3 load only when a transaction is to be sent.
        """
        min_opg = Decimal(str(min_allowance))
        if min_opg < MIN_APPROVAL_OPG:
            raise ConfigurationError(
                f"min_allowance {min_opg} OPG is below {MIN_APPROVAL_OPG} OPG",
                hint="one gateway session can charge up to 0.1 OPG; approve at least that",
            )
        approve_opg = min_opg * 2 if approve_amount is None else Decimal(str(approve_amount))
        if approve_opg < min_opg:
            raise ConfigurationError("approve_amount must be at least min_allowance")
        min_base, approve_base = to_base_units(min_opg), to_base_units(approve_opg)
        owner = keys.address_of(private_key)
        status = self.balances(owner)
        if status.allowance >= min_base:
            return Permit2ApprovalResult(status.allowance, status.allowance, None)
        if status.opg == 0:
            raise ConfigurationError(
                f"wallet {owner} has no OPG on {self.profile.name}",
                hint="fund the wallet with OPG first",
            )
        if min_base > status.opg:
            raise ConfigurationError(
                f"wallet holds {opg_display(status.opg, base_units=True)} OPG, less than the {min_opg} OPG asked for",
                hint="ask for a smaller allowance or fund the wallet",
            )
        approve_base = min(approve_base, status.opg)
        permit2 = checksum(self.profile.permit2)

        def send() -> str:
            from eth_account import Account

            account = Account.from_key(private_key)
            token = self._token()
            w3 = self._checked_w3()
            fn = token.functions.approve(permit2, approve_base)
            gas = int(fn.estimate_gas({"from": account.address}) * 1.2)
            tx = fn.build_transaction(
                {
                    "from": account.address,
                    "nonce": w3.eth.get_transaction_count(account.address, "pending"),
                    "gas": gas,
                    "gasPrice": w3.eth.gas_price,
                    "chainId": w3.eth.chain_id,
                }
            )
            signed = account.sign_transaction(tx)
            tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
            if on_progress:
                on_progress(f"approval sent: {hex0x(tx_hash)}; waiting to be mined")
            receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=timeout)
            if receipt["status"] != 1:
                raise ChainError(f"Permit2 approval transaction reverted: {hex0x(tx_hash)}")
            return hex0x(tx_hash)

        tx_hash = self._call("approving OPG for Permit2", send)
        deadline = time.monotonic() + timeout
        after = status.allowance
        while time.monotonic() < deadline:
            after = self.balances(owner).allowance
            if after >= approve_base:
                break
            time.sleep(0.5)
        else:
            raise ChainError(
                f"allowance did not reach {opg_display(approve_base, base_units=True)} OPG after {tx_hash}"
            )
        return Permit2ApprovalResult(status.allowance, after, tx_hash)

    def fund_from(
        self, funder_key: str, address: str, *, opg: int = 100 * ONE_OPG, eth: int = ONE_OPG
    ) -> str | None:
        """Devnet only: give `address` ETH and OPG from a dev account when it has no OPG.

        This is what lets tutorial code with the user's own key run on the
        devnet unchanged. Returns the OPG transfer tx hash, or None when the
        wallet already holds OPG.
        """
        if self.profile.name != "devnet":
            raise ConfigurationError("funding from a dev account is only possible on the devnet")
        target = checksum(address)
        if self.balances(target).opg > 0 or keys.address_of(funder_key) == target:
            return None

        def send() -> str:
            from eth_account import Account

            funder = Account.from_key(funder_key)
            w3 = self._checked_w3()
            nonce = w3.eth.get_transaction_count(funder.address, "pending")
            gas_price = w3.eth.gas_price
            chain_id = w3.eth.chain_id
            txs = [
                {"to": target, "value": eth, "gas": 21000, "gasPrice": gas_price,
                 "nonce": nonce, "chainId": chain_id},
                self._token().functions.transfer(target, opg).build_transaction(
                    {"from": funder.address, "gas": 100000, "gasPrice": gas_price,
                     "nonce": nonce + 1, "chainId": chain_id}
                ),
            ]  # fmt: skip
            last = None
            for tx in txs:
                last = w3.eth.send_raw_transaction(funder.sign_transaction(tx).raw_transaction)
            receipt = w3.eth.wait_for_transaction_receipt(last, timeout=60)
            if receipt["status"] != 1:
                raise ChainError("funding the wallet from the dev account reverted")
            return hex0x(last) if last is not None else ""

        return str(self._call("funding the wallet on the devnet", send))

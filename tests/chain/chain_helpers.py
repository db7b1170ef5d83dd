"""Helpers for the chain tests: fresh funded payers and payment requirements."""

from __future__ import annotations

import os
from dataclasses import dataclass

from og_chat.devnet.chain import Chain
from og_chat.devnet.genesis import DevAccount
from og_chat.sdk.x402 import PaymentRequired, PaymentRequirements

ONE_OPG = 10**18


@dataclass
class Payer:
    account: DevAccount

    @property
    def address(self) -> str:
        return self.account.address

    @property
    def key(self) -> str:
        return self.account.private_key


async def new_payer(chain: Chain, *, opg: int = 10 * ONE_OPG, approve: int | None = None) -> Payer:
    """A fresh funded account; `approve` OPG base units for Permit2 (None: unlimited)."""
    from eth_account import Account

    acct = Account.from_key(os.urandom(32))
    payer = Payer(DevAccount(acct.address, "0x" + bytes(acct.key).hex()))
    await chain.fund(payer.address, opg)
    if approve != 0:
        await approve_permit2(chain, payer, 2**256 - 1 if approve is None else approve)
    return payer


async def approve_permit2(chain: Chain, payer: Payer, amount: int) -> None:
    from eth_account import Account

    data = (
        chain.contract("OPGToken")
        .functions.approve(chain.addresses.permit2, amount)
        ._encode_transaction_data()
    )
    nonce = await chain.run(lambda w3: w3.eth.get_transaction_count(payer.address))
    tx = {
        "type": 2,
        "chainId": chain.chain_id,
        "nonce": nonce,
        "to": chain.addresses.opg,
        "data": data,
        "gas": 80_000,
        "maxFeePerGas": 50 * 10**9,
        "maxPriorityFeePerGas": 10**9,
        "value": 0,
    }
    raw = bytes(Account.sign_transaction(tx, payer.key).raw_transaction)
    result = await chain.send_raw_transaction(raw)
    assert result.status == 1


def requirement(
    chain: Chain,
    *,
    scheme: str = "upto",
    amount: int = ONE_OPG // 10,
    pay_to: str = "0x209693Bc6afc0C5328bA36FaF03C514EF312287C",
    method: str | None = None,
    facilitator: str | None = None,
    timeout: int = 300,
) -> PaymentRequirements:
    extra: dict[str, object] = {"name": "OpenGradient", "version": "1"}
    if scheme == "upto":
        extra["assetTransferMethod"] = "permit2"
        extra["facilitatorAddress"] = facilitator or chain.operator.address
    elif method:
        extra["assetTransferMethod"] = method
    return PaymentRequirements(
        scheme=scheme,
        network=f"eip155:{chain.chain_id}",
        amount=str(amount),
        asset=chain.addresses.opg,
        payTo=pay_to,
        maxTimeoutSeconds=timeout,
        extra=extra,
    )


def required_of(req: PaymentRequirements) -> PaymentRequired:
    return PaymentRequired(
        x402Version=2, accepts=[req], resource={"url": "http://devnet/v1/chat/completions"}
    )

"""Gas-sponsored Permit2 approval (`erc20ApprovalGasSponsoring`), both ways.

A wallet that never approved Permit2 (and holds no ETH) pays its first call: the
signed approval rides in the payment's extensions, the facilitator checks it, funds
the gas and broadcasts it in the settlement's block. With a stock x402 client
(Coinbase's `x402` 2.25, unmodified) and with og-chat's own client; the facilitator's
refusals each name their reason.
"""

from __future__ import annotations

import os
from typing import Any

import httpx
import pytest

from og_chat.devnet import Devnet
from og_chat.sdk import LLM
from og_chat.sdk.addresses import PERMIT2_ADDRESS
from og_chat.sdk.errors import PaymentRequired, UntrustedNetwork
from og_chat.sdk.eth import hex0x, keccak
from og_chat.sdk.signing import sign_payment
from og_chat.sdk.sponsoring import SponsoredApproval
from og_chat.sdk.x402 import PaymentRequirements, decode_payment_required
from tests.devnet.paying_client import CHAT, ONE_OPG, Payer, approve_permit2, chat_body, rpc

MSG = [{"role": "user", "content": "my first paid call"}]
MAX_UINT = 2**256 - 1


async def _fresh_wallet(devnet: Devnet, opg: int = 10 * ONE_OPG) -> tuple[str, str]:
    """A new key holding OPG and no ETH, never approved for Permit2."""
    from eth_account import Account

    key = "0x" + os.urandom(32).hex()
    address = str(Account.from_key(key).address)
    await devnet.chain.fund(address, opg, eth=0)
    return key, address


async def _read(devnet: Devnet, fn: Any) -> Any:
    return await devnet.chain.run(lambda _: fn.call(block_identifier="pending"))


async def _allowance(devnet: Devnet, owner: str) -> int:
    opg = devnet.chain.contract("OPGToken")
    return int(await _read(devnet, opg.functions.allowance(owner, PERMIT2_ADDRESS)))


def _settle_payer(devnet: Devnet, payer: str) -> list[Any]:
    """Settle the payer's open sessions now (what the idle reaper does a second later)."""
    mine = [s for s in devnet.gateway.book.open_sessions() if s.payer.lower() == payer.lower()]
    assert mine, "the payer opened no session"
    return [devnet.run(devnet.gateway.payments.settle(s)) for s in mine]


def _approval_raw(
    devnet: Devnet,
    key: str,
    *,
    nonce: int = 0,
    amount: int = MAX_UINT,
    spender: str = PERMIT2_ADDRESS,
    to: str | None = None,
    chain_id: int | None = None,
    gas: int = 70_000,
    max_fee: int = 10**9,
) -> str:
    from eth_account import Account

    data = bytes.fromhex("095ea7b3") + bytes(12) + bytes.fromhex(spender[2:])
    data += amount.to_bytes(32, "big")
    tx = {
        "type": 2,
        "chainId": devnet.chain_id if chain_id is None else chain_id,
        "nonce": nonce,
        "to": to or devnet.chain.addresses.opg,
        "value": 0,
        "data": data,
        "gas": gas,
        "maxFeePerGas": max_fee,
        "maxPriorityFeePerGas": 10**8,
    }
    return hex0x(Account.sign_transaction(tx, key).raw_transaction)


async def test_a_stock_x402_client_pays_its_first_call_with_a_sponsored_approval(
    devnet: Devnet,
) -> None:
    pytest.importorskip("x402", reason="the test extra x402[evm,httpx]==2.25.0 is not installed")
    from eth_account import Account
    from x402 import x402Client
    from x402.http.clients.httpx import x402HttpxClient
    from x402.mechanisms.evm.signers import EthAccountSignerWithRPC
    from x402.mechanisms.evm.upto import UptoEvmClientScheme

    key, address = await _fresh_wallet(devnet)
    assert await _allowance(devnet, address) == 0
    # The stock signer with RPC reads the allowance, signs approve(Permit2, MaxUint256).
    signer = EthAccountSignerWithRPC(Account.from_key(key), rpc_url=devnet.url + "/rpc")
    client = x402Client()
    client.register(f"eip155:{devnet.chain_id}", UptoEvmClientScheme(signer))
    client.set_spend_controls(False)  # the default asset allow-list knows no devnet token
    async with x402HttpxClient(client, timeout=30) as http:
        resp = await http.post(devnet.url + CHAT, json=chat_body("sponsored, stock client"))
    assert resp.status_code == 200, resp.text
    (session,) = [s for s in devnet.gateway.book.open_sessions() if s.payer == address]
    info = session.payload.extensions["erc20ApprovalGasSponsoring"]["info"]
    approval_hash = hex0x(keccak(bytes.fromhex(info["signedTransaction"][2:])))

    (record,) = _settle_payer(devnet, address)
    assert record["status"] == "settled", record
    async with httpx.AsyncClient() as http:
        approval = await rpc(http, devnet.url, "eth_getTransactionReceipt", [approval_hash])
        settle = await rpc(http, devnet.url, "eth_getTransactionReceipt", [record["tx_hash"]])
        eth = int(await rpc(http, devnet.url, "eth_getBalance", [address, "latest"]), 16)
    assert int(approval["status"], 16) == 1
    assert approval["blockNumber"] == settle["blockNumber"]  # one bundle, one block
    assert int(approval["transactionIndex"], 16) < int(settle["transactionIndex"], 16)
    assert await _allowance(devnet, address) >= MAX_UINT - int(record["amount"])
    assert eth > 0  # the facilitator funded the gas of a wallet that had none


async def test_our_client_signs_the_approval_into_the_first_payment_only() -> None:
    # An embedded devnet (started by the client itself) trusts the key it is given.
    key = "0x" + os.urandom(32).hex()
    receipts: list[Any] = []
    llm = LLM(key, network="devnet", on_receipt=receipts.append)
    try:
        out = await llm.chat("openai/gpt-4.1-mini", MSG, max_tokens=8)
        devnet = llm.embedded_devnet
        assert isinstance(devnet, Devnet)
        assert out.payment_hash and llm.signatures_made == 1
        first = receipts[-1]
        assert first.approval_tx and first.approval_tx.startswith("0x")
        assert await _allowance(devnet, llm.address) == 0  # not broadcast before settling
        (record,) = _settle_payer(devnet, llm.address)
        assert record["status"] == "settled", record
        async with httpx.AsyncClient() as http:
            mined = await rpc(http, devnet.url, "eth_getTransactionReceipt", [first.approval_tx])
        assert int(mined["status"], 16) == 1
        assert await _allowance(devnet, llm.address) > 0

        llm.forget_sessions()  # a new session: the allowance now covers it, no approval
        await llm.chat("openai/gpt-4.1-mini", MSG, max_tokens=8)
        assert receipts[-1].approval_tx is None and llm.signatures_made == 2

        # The wallet revokes the allowance behind the client's back: the next payment,
        # counted on the old allowance, is refused; the one after reads the chain again.
        (record,) = _settle_payer(devnet, llm.address)
        await approve_permit2(devnet, key, amount=0)
        llm.forget_sessions()
        with pytest.raises(PaymentRequired, match="permit2_allowance_required"):
            await llm.chat("openai/gpt-4.1-mini", MSG, max_tokens=8)
        await llm.chat("openai/gpt-4.1-mini", MSG, max_tokens=8)
        assert receipts[-1].approval_tx and llm.signatures_made == 4
    finally:
        await llm.close()


async def test_a_user_key_signs_no_transaction_for_a_devnet_it_only_reached_by_url(
    devnet: Devnet,
) -> None:
    key, address = await _fresh_wallet(devnet)
    llm = LLM(key, network="devnet", devnet_url=devnet.url)
    try:  # the trust rule refuses before anything is signed: no approval, no payment
        with pytest.raises(UntrustedNetwork, match="opt"):
            await llm.chat("openai/gpt-4.1-mini", MSG, max_tokens=8)
    finally:
        await llm.close()
    assert await _allowance(devnet, address) == 0


async def _challenge(devnet: Devnet) -> Any:
    async with httpx.AsyncClient() as http:
        resp = await http.post(devnet.url + CHAT, json=chat_body())
    return decode_payment_required(resp.headers["payment-required"])


def _sponsored(
    key: str, address: str, required: Any, raw: str, **info: str
) -> tuple[Any, PaymentRequirements]:
    approval = SponsoredApproval(
        signed_transaction=raw,
        tx_hash="",
        payer=address,
        asset=required.accepts[0].asset,
        spender=PERMIT2_ADDRESS,
        amount=MAX_UINT,
        nonce=0,
    )
    signed = sign_payment(key, required, required.accepts[0], approval=approval)
    entry = signed.payload.extensions["erc20ApprovalGasSponsoring"]
    entry["info"] = {**entry["info"], **info}
    return signed.payload, required.accepts[0]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"chain_id": 8453}, "erc20_approval_tx_wrong_chain"),
        (
            {"spender": "0x4020A4f3b7b90ccA423B9fabCc0CE57C6C240002"},
            "erc20_approval_tx_wrong_spender",
        ),
        ({"to": "0x000000000022D473030F116dDEE9F6B43aC78BA3"}, "erc20_approval_tx_wrong_target"),
        ({"nonce": 5}, "erc20_approval_tx_nonce_mismatch"),
        ({"amount": 10}, "erc20_approval_amount_mismatch"),
        ({"gas": 5_000_000}, "erc20_approval_tx_gas_not_sponsored"),
        ({"max_fee": 10**15}, "erc20_approval_tx_gas_not_sponsored"),
        ({"max_fee": 1}, "erc20_approval_tx_fee_too_low"),
        ({"signer": True}, "erc20_approval_tx_signer_mismatch"),
        (
            {"info": {"spender": "0x4020A4f3b7b90ccA423B9fabCc0CE57C6C240002"}},
            "erc20_approval_spender_not_permit2",
        ),
        ({"info": {"asset": PERMIT2_ADDRESS}}, "erc20_approval_asset_mismatch"),
        ({"info": {"amount": "12x"}}, "invalid_erc20_approval_extension_format"),
    ],
)
async def test_the_facilitator_refuses_a_bad_approval_and_names_why(
    devnet: Devnet, change: dict[str, Any], reason: str
) -> None:
    key, address = await _fresh_wallet(devnet)
    required = await _challenge(devnet)
    info = dict(change.pop("info", {}))
    signer = "0x" + os.urandom(32).hex() if change.pop("signer", False) else key
    raw = _approval_raw(devnet, signer, **change)
    payload, requirement = _sponsored(key, address, required, raw, **info)
    verdict = devnet.run(devnet.facilitator.verify(payload, requirement))
    assert not verdict.is_valid and verdict.invalid_reason == reason, verdict
    assert verdict.invalid_message


async def test_an_approval_that_covers_less_than_the_payment_is_refused(devnet: Devnet) -> None:
    key, address = await _fresh_wallet(devnet)
    required = await _challenge(devnet)
    raw = _approval_raw(devnet, key, amount=1)
    payload, requirement = _sponsored(key, address, required, raw, amount="1")
    verdict = devnet.run(devnet.facilitator.verify(payload, requirement))
    assert verdict.invalid_reason == "erc20_approval_amount_insufficient"


async def test_the_extension_is_ignored_when_the_allowance_already_covers_the_payment(
    devnet: Devnet, payer: Payer
) -> None:
    required = await _challenge(devnet)
    junk = _approval_raw(devnet, payer.private_key, chain_id=1)  # would be refused if looked at
    payload, requirement = _sponsored(payer.private_key, payer.address, required, junk)
    verdict = devnet.run(devnet.facilitator.verify(payload, requirement))
    assert verdict.is_valid, verdict


async def test_the_facilitator_says_it_sponsors_approvals(devnet: Devnet) -> None:
    async with httpx.AsyncClient() as http:
        supported = (await http.get(devnet.url + "/supported")).json()
    assert supported["extensions"] == ["erc20ApprovalGasSponsoring"]

"""Payments settle on the devnet chain through the facilitator and move exactly the amount."""

from __future__ import annotations

import asyncio
import os
import time

import pytest
from chain_helpers import ONE_OPG, approve_permit2, new_payer, required_of, requirement

from og_chat.devnet.chain import Chain
from og_chat.devnet.facilitator import Facilitator
from og_chat.devnet.node import ChainRevert
from og_chat.sdk.signing import sign_payment


async def test_eip3009_exact_settles_the_exact_amount(
    chain: Chain, facilitator: Facilitator
) -> None:
    payer = await new_payer(chain, approve=0)
    req = requirement(chain, scheme="exact", amount=ONE_OPG // 4)
    signed = sign_payment(payer.key, required_of(req), req)
    before = await chain.operator.opg_balance(req.pay_to)

    verdict = await facilitator.verify(signed.payload, req)
    assert verdict.is_valid, verdict
    result = await facilitator.settle(signed.payload, req)

    assert result.success, result
    assert result.transaction.startswith("0x") and len(result.transaction) == 66
    assert await chain.operator.opg_balance(req.pay_to) == before + ONE_OPG // 4
    assert await chain.operator.opg_balance(payer.address) == 10 * ONE_OPG - ONE_OPG // 4
    nonce = int(signed.nonce, 16)
    found = chain.index.find_settlement(payer=payer.address, nonce=nonce)
    assert found is not None and found.tx_hash == result.transaction and found.status == 1


async def test_upto_settles_the_charge_not_the_cap(chain: Chain, facilitator: Facilitator) -> None:
    payer = await new_payer(chain)
    req = requirement(chain, scheme="upto", amount=ONE_OPG)
    signed = sign_payment(payer.key, required_of(req), req)
    before = await chain.operator.opg_balance(req.pay_to)

    assert (await facilitator.verify(signed.payload, req)).is_valid
    charge = req.model_copy(update={"amount": str(123_456_789)})
    result = await facilitator.settle(signed.payload, charge)

    assert result.success and result.amount == "123456789", result
    assert await chain.operator.opg_balance(req.pay_to) == before + 123_456_789
    assert await chain.operator.opg_balance(payer.address) == 10 * ONE_OPG - 123_456_789
    nonce = int(signed.nonce)
    assert await chain.operator.permit2_nonce_used(payer.address, nonce)
    found = chain.index.find_settlement(payer=payer.address, nonce=nonce)
    assert found is not None and found.tx_hash == result.transaction


async def test_exact_permit2_settles_the_full_amount(
    chain: Chain, facilitator: Facilitator
) -> None:
    payer = await new_payer(chain)
    req = requirement(chain, scheme="exact", method="permit2", amount=777)
    signed = sign_payment(payer.key, required_of(req), req)
    before = await chain.operator.opg_balance(req.pay_to)

    assert (await facilitator.verify(signed.payload, req)).is_valid
    result = await facilitator.settle(signed.payload, req)

    assert result.success, result
    assert await chain.operator.opg_balance(req.pay_to) == before + 777


async def test_settle_is_idempotent_and_a_replay_is_refused(
    chain: Chain, facilitator: Facilitator
) -> None:
    payer = await new_payer(chain)
    req = requirement(chain, scheme="upto", amount=1000)
    signed = sign_payment(payer.key, required_of(req), req)
    first, second = await asyncio.gather(
        facilitator.settle(signed.payload, req), facilitator.settle(signed.payload, req)
    )
    again = await facilitator.settle(signed.payload, req)
    assert first.success and first.transaction == second.transaction == again.transaction
    assert await chain.operator.opg_balance(payer.address) == 10 * ONE_OPG - 1000

    # A fresh facilitator has no memory of it: the chain refuses the used nonce.
    replay = await Facilitator(chain).settle(signed.payload, req)
    assert not replay.success and replay.error_reason == "permit2_invalid_nonce"
    verdict = await Facilitator(chain).verify(signed.payload, req)
    assert not verdict.is_valid and verdict.invalid_reason == "permit2_invalid_nonce"


async def test_eip3009_replay_is_refused(chain: Chain, facilitator: Facilitator) -> None:
    payer = await new_payer(chain, approve=0)
    req = requirement(chain, scheme="exact", amount=5)
    signed = sign_payment(payer.key, required_of(req), req)
    assert (await facilitator.settle(signed.payload, req)).success
    verdict = await Facilitator(chain).verify(signed.payload, req)
    assert verdict.invalid_reason == "invalid_exact_evm_nonce_already_used"


async def test_upto_charge_above_the_cap_is_refused_and_reverts_on_chain(
    chain: Chain, facilitator: Facilitator
) -> None:
    payer = await new_payer(chain)
    req = requirement(chain, scheme="upto", amount=1000)
    signed = sign_payment(payer.key, required_of(req), req)
    over = req.model_copy(update={"amount": "1001"})
    result = await facilitator.settle(signed.payload, over)
    assert (
        not result.success
        and result.error_reason == "invalid_upto_evm_payload_settlement_exceeds_amount"
    )

    # The proxy itself enforces it too.
    plan = await chain.run(lambda _: facilitator.checks.check(signed.payload, req, settling=True))
    proxy = chain.contract("x402UptoPermit2Proxy")
    auth = signed.payload.payload["permit2Authorization"]
    call = proxy.functions.settle(
        ((chain.addresses.opg, 1000), int(auth["nonce"]), int(auth["deadline"])),
        1001,
        payer.address,
        (auth["witness"]["to"], auth["witness"]["facilitator"], int(auth["witness"]["validAfter"])),
        bytes.fromhex(signed.payload.payload["signature"][2:]),
    )
    assert plan.reason is None
    with pytest.raises(ChainRevert) as info:
        await chain.operator.transact(
            chain.addresses.upto_proxy, bytes.fromhex(call._encode_transaction_data()[2:])
        )
    assert info.value.reason == "AmountExceedsPermitted"


async def test_only_the_named_facilitator_can_settle_upto(chain: Chain) -> None:
    payer = await new_payer(chain)
    someone_else = chain.accounts[5]
    req = requirement(chain, scheme="upto", amount=1000, facilitator=someone_else.address)
    signed = sign_payment(payer.key, required_of(req), req)

    verdict = await Facilitator(chain).verify(signed.payload, req)
    assert verdict.invalid_reason == "upto_facilitator_mismatch"

    auth = signed.payload.payload["permit2Authorization"]
    call = chain.contract("x402UptoPermit2Proxy").functions.settle(
        ((chain.addresses.opg, 1000), int(auth["nonce"]), int(auth["deadline"])),
        10,
        payer.address,
        (auth["witness"]["to"], auth["witness"]["facilitator"], int(auth["witness"]["validAfter"])),
        bytes.fromhex(signed.payload.payload["signature"][2:]),
    )
    data = bytes.fromhex(call._encode_transaction_data()[2:])
    with pytest.raises(ChainRevert) as info:
        await chain.run(lambda _: chain.node.simulate(chain.addresses.upto_proxy, data))
    assert info.value.reason == "UnauthorizedFacilitator"
    # …while the named facilitator's own call goes through.
    await chain.run(
        lambda _: chain.node.simulate(chain.addresses.upto_proxy, data, sender=someone_else.address)
    )


async def test_permit2_without_allowance_is_refused(chain: Chain, facilitator: Facilitator) -> None:
    payer = await new_payer(chain, approve=0)
    req = requirement(chain, scheme="upto", amount=1000)
    signed = sign_payment(payer.key, required_of(req), req)
    verdict = await facilitator.verify(signed.payload, req)
    assert verdict.invalid_reason == "permit2_allowance_required"
    await approve_permit2(chain, payer, 999)
    assert (
        await facilitator.verify(signed.payload, req)
    ).invalid_reason == "permit2_allowance_required"
    await approve_permit2(chain, payer, 1000)
    assert (await facilitator.verify(signed.payload, req)).is_valid


async def test_permit2_insufficient_balance_is_refused(
    chain: Chain, facilitator: Facilitator
) -> None:
    payer = await new_payer(chain, opg=10)
    req = requirement(chain, scheme="upto", amount=11)
    signed = sign_payment(payer.key, required_of(req), req)
    assert (
        await facilitator.verify(signed.payload, req)
    ).invalid_reason == "permit2_insufficient_balance"


async def test_permit2_checks_spender_recipient_network_and_time(
    chain: Chain, facilitator: Facilitator
) -> None:
    payer = await new_payer(chain)
    req = requirement(chain, scheme="upto", amount=1000)
    signed = sign_payment(payer.key, required_of(req), req)

    other_payee = req.model_copy(update={"pay_to": "0x0000000000000000000000000000000000000001"})
    assert (
        await facilitator.verify(signed.payload, other_payee)
    ).invalid_reason == "invalid_permit2_recipient_mismatch"
    other_net = req.model_copy(update={"network": "eip155:8453"})
    assert (
        await facilitator.verify(signed.payload, other_net)
    ).invalid_reason == "invalid_upto_evm_network_mismatch"
    wrong_amount = req.model_copy(update={"amount": "999"})
    assert (
        await facilitator.verify(signed.payload, wrong_amount)
    ).invalid_reason == "permit2_amount_mismatch"

    tampered = signed.payload.model_copy(deep=True)
    tampered.payload["permit2Authorization"]["spender"] = chain.addresses.exact_permit2_proxy
    assert (await facilitator.verify(tampered, req)).invalid_reason == "invalid_permit2_spender"
    tampered = signed.payload.model_copy(deep=True)
    tampered.payload["permit2Authorization"]["witness"]["validAfter"] = str(int(time.time()) + 3600)
    assert (await facilitator.verify(tampered, req)).invalid_reason == "permit2_not_yet_valid"
    tampered = signed.payload.model_copy(deep=True)
    tampered.payload["permit2Authorization"]["deadline"] = str(int(time.time()) - 1)
    assert (await facilitator.verify(tampered, req)).invalid_reason == "permit2_deadline_expired"
    tampered = signed.payload.model_copy(deep=True)
    tampered.payload["permit2Authorization"]["permitted"]["amount"] = "1000"
    tampered.payload["signature"] = "0x" + os.urandom(65).hex()
    assert (await facilitator.verify(tampered, req)).invalid_reason == "invalid_permit2_signature"

    late = Facilitator(chain, clock=lambda: int(time.time()) + 10_000)
    assert (await late.verify(signed.payload, req)).invalid_reason == "permit2_deadline_expired"


async def test_a_second_payload_cannot_take_a_reserved_nonce(
    chain: Chain, facilitator: Facilitator
) -> None:
    payer = await new_payer(chain)
    req = requirement(chain, scheme="upto", amount=1000)
    first = sign_payment(payer.key, required_of(req), req, nonce=42)
    second = sign_payment(
        payer.key, required_of(req), req.model_copy(update={"pay_to": payer.address}), nonce=42
    )
    assert (await facilitator.verify(first.payload, req)).is_valid
    assert (await facilitator.verify(first.payload, req)).is_valid  # the same payload again: fine
    other_req = req.model_copy(update={"pay_to": payer.address})
    assert (
        await facilitator.verify(second.payload, other_req)
    ).invalid_reason == "permit2_invalid_nonce"


async def test_upto_charge_of_zero_settles_without_a_transaction(
    chain: Chain, facilitator: Facilitator
) -> None:
    payer = await new_payer(chain)
    req = requirement(chain, scheme="upto", amount=1000)
    signed = sign_payment(payer.key, required_of(req), req)
    result = await facilitator.settle(signed.payload, req.model_copy(update={"amount": "0"}))
    assert result.success and result.transaction == "" and result.amount == "0"
    assert not await chain.operator.permit2_nonce_used(payer.address, int(signed.nonce))


async def test_refuse_settlement_fails_with_a_standard_reason(chain: Chain) -> None:
    payer = await new_payer(chain)
    req = requirement(chain, scheme="upto", amount=1000)
    signed = sign_payment(payer.key, required_of(req), req)
    refusing = Facilitator(chain, refuse_settlement=True)
    assert (await refusing.verify(signed.payload, req)).is_valid
    result = await refusing.settle(signed.payload, req)
    assert (
        not result.success
        and result.error_reason == "unexpected_settle_error"
        and result.transaction == ""
    )
    assert await chain.operator.opg_balance(payer.address) == 10 * ONE_OPG


async def test_supported_advertises_both_schemes_and_the_signer(
    chain: Chain, facilitator: Facilitator
) -> None:
    doc = facilitator.supported()
    network = f"eip155:{chain.chain_id}"
    assert {"x402Version": 2, "scheme": "exact", "network": network} in doc["kinds"]
    upto = next(k for k in doc["kinds"] if k["scheme"] == "upto")
    assert upto["extra"]["facilitatorAddress"] == chain.operator.address == facilitator.address
    assert doc["signers"] == {"eip155:*": [chain.operator.address]}

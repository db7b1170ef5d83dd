"""The devnet chain: contracts at their addresses, funded accounts, registry and data settlement."""

from __future__ import annotations

import os
import time

import pytest
from chain_helpers import ONE_OPG

from og_chat.devnet.chain import Chain
from og_chat.devnet.genesis import OPERATOR_PATH
from og_chat.devnet.jsonrpc import MAX_LOG_RANGE
from og_chat.devnet.node import ChainRevert, RpcError
from og_chat.devnet.operator import IndividualCall
from og_chat.sdk import merkle
from og_chat.sdk.addresses import (
    DEVNET_ADDRESSES as DEV_ADDRESSES,
    DEVNET_KEYS as DEV_KEYS,
    DEVNET_MNEMONIC as MNEMONIC,
    DEVNET_OPERATOR_KEY as OPERATOR_KEY,
)
from og_chat.sdk.eth import keccak


def test_contracts_have_code_at_their_canonical_addresses(chain: Chain) -> None:
    assert chain.addresses.permit2 == "0x000000000022D473030F116dDEE9F6B43aC78BA3"
    assert chain.addresses.upto_proxy == "0x4020A4f3b7b90ccA423B9fabCc0CE57C6C240002"
    assert chain.addresses.exact_permit2_proxy == "0x402085c248EeA27D92E8b30b2C58ed07f9E20001"
    for address in vars(chain.addresses).values():
        assert len(chain.rpc("eth_getCode", [address, "latest"])) > 1000, address


def test_token_reports_the_domain_the_gateway_advertises(chain: Chain) -> None:
    token = chain.contract("OPGToken")
    assert chain.run_sync(lambda _: token.functions.name().call()) == "OpenGradient"
    assert chain.run_sync(lambda _: token.functions.version().call()) == "1"
    assert chain.run_sync(lambda _: token.functions.decimals().call()) == 18
    assert chain.run_sync(lambda _: token.functions.owner().call()) == chain.operator.address


def test_permit2_domain_separator_matches_uniswap_hashing(chain: Chain) -> None:
    from eth_abi import encode
    from eth_hash.auto import keccak

    expected = keccak(
        encode(
            ["bytes32", "bytes32", "uint256", "address"],
            [
                keccak(b"EIP712Domain(string name,uint256 chainId,address verifyingContract)"),
                keccak(b"Permit2"),
                chain.chain_id,
                chain.addresses.permit2,
            ],
        )
    )
    got = chain.run_sync(lambda _: chain.contract("Permit2").functions.DOMAIN_SEPARATOR().call())
    assert bytes(got) == expected


async def test_the_ten_mnemonic_accounts_hold_eth_and_1000_opg(chain: Chain) -> None:
    assert [a.address for a in chain.accounts] == list(DEV_ADDRESSES)
    assert chain.accounts[0].address == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    for account in chain.accounts:
        assert await chain.operator.opg_balance(account.address) >= 900 * ONE_OPG
        assert await chain.operator.eth_balance(account.address) > 10**18
    assert await chain.operator.eth_balance(chain.operator.address) > 10**18


def test_hardcoded_keys_are_the_mnemonic_derivations() -> None:
    from eth_account import Account

    Account.enable_unaudited_hdwallet_features()
    for i, key in enumerate(DEV_KEYS[:3]):
        acct = Account.from_mnemonic(MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}")
        assert "0x" + bytes(acct.key).hex() == key and acct.address == DEV_ADDRESSES[i]
    operator = Account.from_mnemonic(MNEMONIC, account_path=OPERATOR_PATH)
    assert "0x" + bytes(operator.key).hex() == OPERATOR_KEY


async def test_fund_adds_opg_and_eth(chain: Chain) -> None:
    target = "0x" + os.urandom(20).hex()
    await chain.fund(target, 3 * ONE_OPG, eth=5 * 10**17)
    assert await chain.operator.opg_balance(target) == 3 * ONE_OPG
    assert await chain.operator.eth_balance(target) == 5 * 10**17


def test_start_funds_extra_addresses() -> None:
    extra = "0x" + "ab" * 20
    devnet = Chain.start(fund=[(extra, 7 * ONE_OPG)])
    try:
        token = devnet.contract("OPGToken")
        assert (
            devnet.run_sync(
                lambda w3: token.functions.balanceOf(w3.to_checksum_address(extra)).call()
            )
            == 7 * ONE_OPG
        )
        supply = devnet.run_sync(lambda _: token.functions.totalSupply().call())
        assert supply == 10 * 1000 * ONE_OPG + 7 * ONE_OPG
    finally:
        devnet.stop()


async def test_registry_returns_the_live_tuple_layout(chain: Chain) -> None:
    public_key = b"\x30\x82" + os.urandom(290)
    cert = b"\x30\x82" + os.urandom(500)
    tee_id = await chain.operator.register_tee(
        payment_address=chain.accounts[7].address,
        endpoint="https://127.0.0.1:8443",
        public_key_der=public_key,
        tls_certificate_der=cert,
    )
    from eth_hash.auto import keccak

    assert tee_id == "0x" + keccak(public_key).hex()
    tees = {t["teeId"]: t for t in await chain.operator.active_tees(0)}
    tee = tees[tee_id]
    assert list(tee) == [
        "owner", "paymentAddress", "endpoint", "publicKey", "tlsCertificate", "pcrHash", "teeType",
        "enabled", "registeredAt", "lastHeartbeatAt", "ohttpConfig", "teeId",
    ]  # fmt: skip
    assert tee["paymentAddress"] == chain.accounts[7].address
    assert tee["endpoint"] == "https://127.0.0.1:8443"
    assert bytes(tee["publicKey"]) == public_key and bytes(tee["tlsCertificate"]) == cert
    assert tee["enabled"] is True and tee["teeType"] == 0 and tee["registeredAt"] > 0
    assert list(tee["ohttpConfig"]) == [
        "keyId",
        "kemId",
        "kdfId",
        "aeadId",
        "publicKey",
        "keyConfig",
        "registeredAt",
    ]
    assert tee_id not in {t["teeId"] for t in await chain.operator.active_tees(1)}

    # The raw ABI type is what the official SDK decodes.
    fn = next(e for e in chain.contract("TEERegistry").abi if e.get("name") == "getActiveTEEs")
    out = fn["outputs"][0]
    assert out["type"] == "tuple[]"
    assert [c["type"] for c in out["components"]] == [
        "address", "address", "string", "bytes", "bytes", "bytes32", "uint8", "bool",
        "uint256", "uint256", "tuple",
    ]  # fmt: skip
    assert [c["type"] for c in out["components"][-1]["components"]] == [
        "uint8", "uint16", "uint16", "uint16", "bytes", "bytes", "uint256",
    ]  # fmt: skip


def leaves(count: int) -> list[tuple[str, bytes]]:
    """`count` random (call id, leaf) pairs and, below, their root as the contract computes it."""
    return [("0x" + os.urandom(32).hex(), os.urandom(32)) for _ in range(count)]


def root_of(pairs: list[tuple[str, bytes]]) -> bytes:
    return merkle.build_levels([leaf for _, leaf in pairs])[-1][0]


async def test_batch_root_is_posted_once_and_readable(chain: Chain) -> None:
    pairs = leaves(12)
    root = root_of(pairs)
    assert await chain.operator.batch_root_info(root) is None
    result = await chain.operator.post_batch_root(root, pairs)
    assert result.status == 1 and result.gas_used > 21_000
    count, ts = await chain.operator.batch_root_info(root) or (0, 0)
    assert count == 12 and abs(ts - time.time()) < 120
    assert chain.index.batch_roots()["0x" + root.hex()][2] == result.tx_hash
    block = hex(result.block_number)
    query = {"fromBlock": block, "toBlock": block, "address": chain.addresses.settlement}
    logs = chain.rpc("eth_getLogs", [query])
    assert [log["topics"][1] for log in logs[:12]] == [c for c, _ in pairs]  # BatchLeaf each
    assert (
        logs[-1]["topics"][1] == "0x" + root.hex() and logs[-1]["transactionHash"] == result.tx_hash
    )
    with pytest.raises(ChainRevert) as info:
        await chain.operator.post_batch_root(root, pairs)
    assert info.value.reason.startswith("RootAlreadyPosted")


async def test_a_root_that_is_not_the_leaves_root_is_refused(chain: Chain) -> None:
    pairs = leaves(5)
    with pytest.raises(ChainRevert) as info:
        await chain.operator.post_batch_root(os.urandom(32), pairs)
    assert info.value.reason.startswith("RootMismatch")
    odd = leaves(7)  # an unpaired node is carried up, as sdk.merkle does
    assert (await chain.operator.post_batch_root(root_of(odd), odd)).status == 1


async def test_individual_settlement_emits_the_call_metadata(chain: Chain) -> None:
    tee_id = "0x" + os.urandom(32).hex()
    call_id, request_hash, signature = "0x" + os.urandom(32).hex(), os.urandom(32), os.urandom(256)
    result = await chain.operator.settle_individual(
        IndividualCall(
            call_id=call_id,
            model="openai/gpt-4.1-mini",
            input='{"messages": [{"content": "héllo", "role": "user"}]}',
            output="an answer",
            prompt_tokens=7,
            completion_tokens=3,
            tee_id=tee_id,
            request_hash=request_hash.hex(),
            signature=signature,
            timestamp=1_750_000_000,
        )
    )
    assert result.status == 1
    event = next(e for e in chain.index.individual_settlements() if e["tx_hash"] == result.tx_hash)
    assert event["call_id"] == call_id
    assert event["tee_id"] == tee_id
    assert event["request_hash"] == "0x" + request_hash.hex()
    assert event["output_hash"] == "0x" + keccak(b"an answer").hex()
    assert event["model"] == "openai/gpt-4.1-mini"
    assert (event["prompt_tokens"], event["completion_tokens"]) == (7, 3)
    assert event["signature"] == "0x" + signature.hex()
    assert event["tee_timestamp"] == 1_750_000_000


async def test_only_the_operator_may_post_settlements(chain: Chain) -> None:
    data = (
        chain.contract("DataSettlement")
        .functions.postBatchRoot(os.urandom(32), [os.urandom(32)], [os.urandom(32)])
        ._encode_transaction_data()
    )
    with pytest.raises(ChainRevert) as info:
        await chain.run(
            lambda _: chain.node.simulate(
                chain.addresses.settlement,
                bytes.fromhex(data[2:]),
                sender=chain.accounts[0].address,
            )
        )
    assert info.value.reason == "NotOperator"


def test_get_logs_refuses_an_unbounded_range(chain: Chain) -> None:
    with pytest.raises(RpcError) as info:
        chain.rpc("eth_getLogs", [{"fromBlock": "0x0", "toBlock": hex(MAX_LOG_RANGE + 5)}])
    assert info.value.code == -32005 and "block range too large" in info.value.message


async def test_fast_blocks_share_a_second_and_never_run_ahead_of_the_wall_clock(
    chain: Chain,
) -> None:
    first = int(chain.rpc("eth_blockNumber", []), 16) + 1
    for _ in range(8):
        pairs = leaves(1)
        await chain.operator.post_batch_root(root_of(pairs), pairs)
    head = int(chain.rpc("eth_blockNumber", []), 16)
    stamps = [
        int(chain.rpc("eth_getBlockByNumber", [hex(n), False])["timestamp"], 16)
        for n in range(first, head + 1)
    ]
    assert head - first + 1 >= 8
    assert stamps == sorted(stamps) and max(stamps) <= time.time()
    # Eight blocks in well under eight seconds: at least two of them share a second.
    assert len(set(stamps)) < len(stamps)

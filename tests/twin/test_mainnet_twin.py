"""`og-chat devnet --chain-id 8453`: a devnet shaped like Base mainnet.

The chain answers 8453 to `eth_chainId` and to `block.chainid` (which Permit2's and
OPG's EIP-712 domains read), OPG sits at Base's OPG address and every other contract
where it always is. og-chat's own client pays it with the devnet's published test
keys, and refuses a user's key before anything is signed: that key's signatures
would be valid on the real Base.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from og_chat.devnet import Devnet
from og_chat.devnet.genesis import Addresses
from og_chat.devnet.server import describe
from og_chat.sdk import LLM
from og_chat.sdk.addresses import DEVNET_KEYS, MAINNET_OPG
from og_chat.sdk.errors import ConfigurationError
from og_chat.sdk.eth import keccak

MSG = [{"role": "user", "content": "hello, twin"}]


@pytest.fixture(scope="module")
def twin() -> Iterator[Devnet]:
    net = Devnet.start(chain_id=8453, tokens_per_second=0, session_idle=1.0)
    try:
        yield net
    finally:
        net.stop()


def _rpc(net: Devnet, method: str, params: list[Any]) -> Any:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    return httpx.post(net.url + "/rpc", json=body).json()["result"]


def test_the_chain_is_8453_to_rpc_clients_and_to_contracts(twin: Devnet) -> None:
    assert _rpc(twin, "eth_chainId", []) == "0x2105"
    assert _rpc(twin, "net_version", []) == "8453"
    # Permit2's domain separator is computed from block.chainid at call time.
    typehash = keccak(b"EIP712Domain(string name,uint256 chainId,address verifyingContract)")
    permit2 = twin.chain.addresses.permit2
    expected = keccak(
        typehash + keccak(b"Permit2") + (8453).to_bytes(32, "big") + bytes(12)
        + bytes.fromhex(permit2[2:])
    )  # fmt: skip
    separator = _rpc(twin, "eth_call", [{"to": permit2, "data": "0x3644e515"}, "latest"])
    assert separator == "0x" + expected.hex()


def test_opg_sits_at_bases_address_and_the_rest_where_it_always_is(twin: Devnet) -> None:
    usual = Addresses()
    here = twin.chain.addresses
    assert here.opg == MAINNET_OPG
    assert (here.permit2, here.upto_proxy, here.exact_permit2_proxy) == (
        usual.permit2, usual.upto_proxy, usual.exact_permit2_proxy,
    )  # fmt: skip
    assert (here.tee_registry, here.settlement) == (usual.tee_registry, usual.settlement)
    assert len(_rpc(twin, "eth_getCode", [MAINNET_OPG, "latest"])) > 1000
    assert "twin of Base mainnet" in describe(twin)


async def test_our_client_pays_the_twin_with_a_published_test_key(twin: Devnet) -> None:
    llm = LLM(DEVNET_KEYS[2], network="devnet", devnet_url=twin.url)
    try:
        out = await llm.chat("openai/gpt-4.1-mini", MSG)
    finally:
        await llm.close()
    assert llm.profile.chain_id == 8453 and llm.profile.opg == MAINNET_OPG
    assert out.signature_status.value == "verified" and llm.signatures_made == 1
    records = twin.settle_open_sessions()
    assert records and all(r["status"] == "settled" for r in records), records


async def test_a_user_key_is_refused_before_anything_is_signed(twin: Devnet) -> None:
    llm = LLM("0x" + os.urandom(32).hex(), network="devnet", devnet_url=twin.url)
    try:
        with pytest.raises(ConfigurationError, match="public network"):
            await llm.chat("openai/gpt-4.1-mini", MSG)
    finally:
        await llm.close()
    assert llm.signatures_made == 0

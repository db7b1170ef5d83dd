"""Item 1: a user's key never signs for a network it cannot trust.

A server answering `/devnet` with a real chain's id (any of them: no denylist is
consulted for the refusal) gets no signature and no transaction from a user key; a
devnet's own published test key signs there instead, and only an opt-in by URL lets
the user's key sign, never for a public chain, and never an approval without the
user's word.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from og_chat.sdk.addresses import DEVNET_ADDRESSES, DEVNET_KEYS
from og_chat.sdk.client import LLM
from og_chat.sdk.errors import UntrustedNetwork
from og_chat.sdk.network_choice import NetworkRequest
from og_chat.store.receipts import ReceiptStore
from tests.hostile.conftest import Result
from tests.hostile.gateway import OPG, HostileGateway, Plan

USER_KEY = "0x" + "5a" * 32
MSG = [{"role": "user", "content": "hi"}]
TEST_KEY_ADDRESS = DEVNET_ADDRESSES[0].lower()


def _user_address() -> str:
    from eth_account import Account

    return str(Account.from_key(USER_KEY).address).lower()


def _nothing_signed(hostile: HostileGateway) -> None:
    assert hostile.payments == [] and hostile.transactions == []
    assert all("PAYMENT-SIGNATURE" not in r["headers"] for r in hostile.requests)


@pytest.mark.parametrize(
    "chain",
    [59144, 81457, 100, 7777777, 421614, 17000, 5000, 1_337_001, 2**40 + 7],
    ids=[
        "linea",
        "blast",
        "gnosis",
        "zora",
        "arb-sepolia",
        "holesky",
        "mantle",
        "unknown",
        "made-up",
    ],
)
async def test_a_forged_devnet_gets_no_signature_from_a_user_key(
    hostile: HostileGateway, chain: int
) -> None:
    hostile.reset(Plan(chain_id=chain))
    llm = LLM(USER_KEY, llm_server_url=hostile.url)
    with pytest.raises(UntrustedNetwork) as info:
        async with llm:
            await llm.chat("openai/gpt-5", MSG)
    refusal = info.value
    assert refusal.chain_id == chain and refusal.url == hostile.url
    assert hostile.url in str(refusal) and str(chain) in str(refusal)
    assert "payment authorizations" in refusal.what
    assert llm.signatures_made == 0
    _nothing_signed(hostile)
    assert hostile.requests == []  # not even the unpaid request was sent


async def test_an_opt_in_names_exactly_one_devnet(hostile: HostileGateway) -> None:
    other = "http://127.0.0.1:1"
    with pytest.raises(UntrustedNetwork, match="not opted in") as info:
        async with LLM(USER_KEY, llm_server_url=hostile.url, trusted_devnets=[other]) as llm:
            await llm.chat("openai/gpt-5", MSG)
    assert f'trusted_devnets = ["{hostile.url}"]' in info.value.hint  # how to opt in
    assert "--trust-devnet" in info.value.hint and "OG_TRUSTED_DEVNETS" in info.value.hint
    _nothing_signed(hostile)
    async with LLM(
        USER_KEY, llm_server_url=hostile.url + "/", trusted_devnets=[hostile.url]
    ) as llm:
        await llm.chat("openai/gpt-5", MSG)
        assert llm.signatures_made == 1
    assert [p.payer.lower() for p in hostile.payments] == [_user_address()]


async def test_a_devnet_naming_a_public_chain_never_gets_the_user_key_even_opted_in(
    hostile: HostileGateway,
) -> None:
    hostile.reset(Plan(chain_id=8453))  # the mainnet twin of issue 15, or a forgery of it
    with pytest.raises(UntrustedNetwork, match="public network") as info:
        async with LLM(USER_KEY, llm_server_url=hostile.url, trusted_devnets=[hostile.url]) as llm:
            await llm.chat("openai/gpt-5", MSG)
    assert "no opt-in" in info.value.hint
    _nothing_signed(hostile)
    async with LLM(DEVNET_KEYS[3], llm_server_url=hostile.url) as llm:  # a test key guards nothing
        await llm.chat("openai/gpt-5", MSG)
    assert [p.payer.lower() for p in hostile.payments] == [DEVNET_ADDRESSES[3].lower()]


def test_og_chat_ask_with_a_wallet_pays_a_forged_devnet_with_its_test_key_only(
    hostile: HostileGateway, og: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OG_PRIVATE_KEY", USER_KEY)
    result = og("ask", "--devnet-url", hostile.url, "-m", "gpt-4.1-mini", "hi")
    assert result.code == 0, result.err
    assert _user_address() not in hostile.signers
    assert hostile.signers == {TEST_KEY_ADDRESS}  # the approval and the payment: the test key
    (approval,) = hostile.transactions
    assert approval.to is not None and approval.to.lower() == OPG.lower()
    assert len(hostile.payments) == 1
    (receipt,) = ReceiptStore().load()
    assert receipt.payer is not None and receipt.payer.lower() == TEST_KEY_ADDRESS


def test_trust_devnet_without_a_terminal_or_yes_sends_no_approval(
    hostile: HostileGateway, og: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OG_PRIVATE_KEY", USER_KEY)
    result = og("ask", "--devnet-url", hostile.url, "--trust-devnet", "-m", "gpt-4.1-mini", "hi")
    assert result.code == 2, result.err
    assert "without your confirmation" in result.err and hostile.url + "/rpc" in result.err
    assert "--yes" in result.err
    _nothing_signed(hostile)
    assert ReceiptStore().load() == []


def test_trust_devnet_with_yes_approves_and_pays_with_the_wallet(
    hostile: HostileGateway, og: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OG_PRIVATE_KEY", USER_KEY)
    argv = ("ask", "--devnet-url", hostile.url, "--trust-devnet", "--yes", "-m", "gpt-4.1-mini")
    result = og(*argv, "hi")
    assert result.code == 0, result.err
    (approval,) = hostile.transactions
    assert approval.sender.lower() == _user_address()
    assert approval.chain_id == hostile.plan.chain_id
    assert [p.payer.lower() for p in hostile.payments] == [_user_address()]


def test_trust_devnet_cannot_unlock_a_public_chain_from_the_cli(
    hostile: HostileGateway, og: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    hostile.reset(Plan(chain_id=59144))
    monkeypatch.setenv("OG_PRIVATE_KEY", USER_KEY)
    argv = ("ask", "--devnet-url", hostile.url, "--trust-devnet", "--yes", "-m", "gpt-4.1-mini")
    result = og(*argv, "hi")
    assert result.code == 2
    assert "names chain 59144, a public network" in result.err
    _nothing_signed(hostile)


@pytest.mark.parametrize("answer", ["y", "n"])
async def test_the_tui_asks_before_an_approval_with_the_users_key(
    hostile: HostileGateway, answer: str
) -> None:
    from og_chat.tui.app import OGChatApp
    from og_chat.tui.screens.dialogs import Confirm
    from tests.tui.conftest import wait_until

    app = OGChatApp(NetworkRequest(devnet_url=hostile.url, trusted_devnets=(hostile.url,)))
    app.backend.set_private_key(USER_KEY)  # unlocked by `og-chat --trust-devnet` before the TUI
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_until(
            pilot, lambda: isinstance(app.screen, Confirm), timeout=60, what="the question"
        )
        assert isinstance(app.screen, Confirm) and hostile.url + "/rpc" in app.screen.question
        assert hostile.transactions == []  # nothing sent while the question is open
        await pilot.press(answer)
        await wait_until(pilot, lambda: app.backend.ready, timeout=60, what="the runtime")
    if answer == "y":
        (approval,) = hostile.transactions
        assert approval.sender.lower() == _user_address()
    else:
        assert hostile.transactions == [] and hostile.payments == []

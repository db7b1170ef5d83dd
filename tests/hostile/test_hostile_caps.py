"""Item 3: the spend caps hold against a gateway that wants more.

A gateway that takes every signature and answers 402 again collects authorizations
worth at most the caps, in total, across processes; `top_up.devnet = "never"` sends
no approval; the TUI shows what is left of the day's budget.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from og_chat.sdk.client import LLM
from og_chat.sdk.errors import PaymentRequired, SpendCapExceeded
from og_chat.sdk.network_choice import NetworkRequest
from og_chat.store.config import Config, SpendCaps, TopUpPolicy, save_config
from og_chat.store.receipts import ReceiptStore
from tests.hostile.conftest import Result
from tests.hostile.gateway import AMOUNT, HostileGateway, Plan

MSG = [{"role": "user", "content": "hi"}]


def _one_signature_per_request(hostile: HostileGateway) -> None:
    paid = [r for r in hostile.requests if "PAYMENT-SIGNATURE" in r["headers"]]
    assert len(paid) == len(hostile.payments)  # every signature rode on its own request
    assert len({p.nonce for p in hostile.payments}) == len(hostile.payments)


def test_a_gateway_refusing_every_payment_gets_at_most_the_day_cap(
    hostile: HostileGateway, og: Callable[..., Result]
) -> None:
    hostile.reset(Plan(refuse_every_payment=True))
    save_config(Config(spend=SpendCaps(max_per_day_opg=Decimal("0.35"))))
    codes, errors = [], []
    for _ in range(6):  # six processes' worth of runtimes, one receipt log
        result = og("ask", "--devnet-url", hostile.url, "-m", "gpt-4.1-mini", "hi")
        codes.append(result.code)
        errors.append(result.err)
    assert codes == [3] * 6  # refused by the gateway three times, then by the cap
    assert len(hostile.payments) == 3  # 3 × 0.1 ≤ 0.35 < 4 × 0.1
    _one_signature_per_request(hostile)
    for err in errors[3:]:
        assert "max_per_day_opg = 0.35 OPG would be exceeded" in err
        assert "0.3 OPG counts already and this could add 0.1 OPG" in err
    refused = [r for r in ReceiptStore().load() if r.payment_status == "refused"]
    assert len(refused) == 3  # each signature left its receipt (written before signing)


def test_the_day_cap_holds_across_concurrent_processes(hostile: HostileGateway, home: Path) -> None:
    hostile.reset(Plan(refuse_every_payment=True))
    save_config(Config(spend=SpendCaps(max_per_day_opg=Decimal("0.25"))))
    env = {**os.environ, "OG_CHAT_HOME": str(home)}
    argv = [sys.executable, "-m", "og_chat.cli", "ask", "--devnet-url", hostile.url, "-m",
            "gpt-4.1-mini", "hi"]  # fmt: skip
    runs = [
        subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(5)
    ]
    outs = [run.communicate(timeout=120) for run in runs]
    assert all(run.returncode == 3 for run in runs), [o[1][-400:] for o in outs]
    assert len(hostile.payments) == 2  # the flock: no two processes fit under one cap
    _one_signature_per_request(hostile)
    capped = [err for _, err in outs if b"max_per_day_opg" in err]
    assert len(capped) == 3


async def test_the_session_cap_bounds_what_a_refusing_gateway_collects(
    hostile: HostileGateway,
) -> None:
    hostile.reset(Plan(refuse_every_payment=True))
    refusals: list[type[Exception]] = []
    async with LLM.from_url(None, hostile.url, max_per_session_opg="0.25") as llm:
        for _ in range(6):
            with pytest.raises((PaymentRequired, SpendCapExceeded)) as info:
                await llm.chat("openai/gpt-5", MSG)
            refusals.append(type(info.value))
    assert refusals == [PaymentRequired] * 2 + [SpendCapExceeded] * 4
    assert len(hostile.payments) == 2 and llm.signatures_made == 2
    capped = info.value
    assert isinstance(capped, SpendCapExceeded)
    assert (capped.cap, capped.limit, capped.spent, capped.needed) == (
        "max_per_session_opg", Decimal("0.25"), Decimal("0.2"), Decimal(AMOUNT) / 10**18,
    )  # fmt: skip


async def test_the_session_cap_is_checked_before_a_call_on_an_open_session(
    hostile: HostileGateway,
) -> None:
    async with LLM.from_url(None, hostile.url, max_per_session_opg="0.15") as llm:
        await llm.chat("openai/gpt-5", MSG)  # signs 0.1; the answer's cost is unknown
        sent = len(hostile.requests)
        with pytest.raises(SpendCapExceeded, match="max_per_session_opg") as info:
            await llm.chat("openai/gpt-5", MSG)  # worst case: the session's whole 0.1
    assert len(hostile.requests) == sent  # refused before anything was sent
    assert info.value.needed == Decimal("0.1") and len(hostile.payments) == 1


def test_top_up_never_sends_no_approval_and_refuses_the_call(
    hostile: HostileGateway, og: Callable[..., Result]
) -> None:
    save_config(Config(top_up=TopUpPolicy(devnet="never")))
    result = og("ask", "--devnet-url", hostile.url, "-m", "gpt-4.1-mini", "hi")
    assert result.code == 3, result.err
    assert "top_up.devnet is 'never'" in result.err and "nothing was sent" in result.err
    assert hostile.transactions == [] and hostile.payments == [] and hostile.requests == []
    hostile.plan.allowance = 5 * 10**18  # approved by other means: calls go through
    assert og("ask", "--devnet-url", hostile.url, "-m", "gpt-4.1-mini", "hi").code == 0
    assert hostile.transactions == [] and len(hostile.payments) == 1


async def test_the_tui_header_shows_what_is_left_of_the_days_budget(
    hostile: HostileGateway, og: Callable[..., Result]
) -> None:
    from og_chat.tui.app import OGChatApp
    from og_chat.tui.widgets.status_header import StatusHeader
    from tests.tui.conftest import wait_until

    save_config(Config(spend=SpendCaps(max_per_day_opg=Decimal("0.5"))))
    app = OGChatApp(NetworkRequest(devnet_url=hostile.url))
    async with app.run_test(size=(200, 40)) as pilot:
        header = app.main_screen.query_one(StatusHeader)
        await wait_until(pilot, lambda: header.wallet is not None, timeout=60, what="balances")
        assert "day left 0.50" in str(header.render())
        asked = await asyncio.to_thread(og, "ask", "--devnet-url", hostile.url, "hi")
        assert asked.code == 0, asked.err  # another process's call, in the same receipt log
        app.refresh_wallet()
        await wait_until(pilot, lambda: "day left 0.40" in str(header.render()), what="the budget")

"""Item 4: no paid call goes unrecorded.

The pending receipt is on disk before the signature reaches the gateway; a receipt log
that cannot be written (a read-only directory, a full disk) means nothing is signed;
a paid answer the client cannot read is a typed GatewayError carrying the receipt.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from og_chat.sdk.client import LLM
from og_chat.sdk.errors import GatewayError, OGError
from og_chat.sdk.opg import opg_text
from og_chat.sdk.types import Receipt
from og_chat.store.receipts import ReceiptStore
from tests.hostile.conftest import Result
from tests.hostile.gateway import HostileGateway, Plan, fair_answer, fair_events, pending_on_disk

MSG = [{"role": "user", "content": "hi"}]
REPO = Path(__file__).resolve().parents[2]


def test_the_pending_receipt_is_on_disk_before_the_signature_arrives(
    hostile: HostileGateway, og: Callable[..., Result], home: Path
) -> None:
    seen: list[bool] = []
    hostile.reset(Plan(on_payment=lambda p: seen.append(
        pending_on_disk(home, str(p.payload["permit2Authorization"]["nonce"]))
    )))  # fmt: skip
    result = og("ask", "--devnet-url", hostile.url, "-m", "gpt-4.1-mini", "hi")
    assert result.code == 0, result.err
    assert seen == [True]  # the gateway found the receipt already written
    (receipt,) = ReceiptStore().load()  # the final receipt completed the same id
    assert receipt.error is None and receipt.output_text == "Hello."
    assert receipt.nonce == hostile.payments[0].nonce and receipt.request_body_hash


# -- a receipt log that cannot be written ---------------------------------------------------

_CHILD = """
import ctypes, json, os, resource, signal, sys
sys.path.insert(0, {repo!r})
from og_chat.cli import main
import og_chat.sdk.client, eth_account, httpx  # loaded before any limit applies

def drop_dac_override():
    # root ignores file modes; without CAP_DAC_OVERRIDE it obeys them like anyone
    if os.geteuid() != 0:
        return
    class Head(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]
    class Caps(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]
    libc = ctypes.CDLL(None, use_errno=True)
    head, caps = Head(0x20080522, 0), (Caps * 2)()
    if libc.capget(ctypes.byref(head), caps) != 0:
        raise OSError(ctypes.get_errno(), "capget")
    caps[0].effective &= ~0b110  # CAP_DAC_OVERRIDE (1), CAP_DAC_READ_SEARCH (2)
    caps[0].permitted &= ~0b110
    if libc.capset(ctypes.byref(head), caps) != 0:
        raise OSError(ctypes.get_errno(), "capset")

how = sys.argv[1]
if how == "read-only":
    drop_dac_override()
else:  # a full disk: no file may grow past its present size
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    size = os.path.getsize(sys.argv[3])
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, resource.RLIM_INFINITY))
code = main(["ask", "--devnet-url", sys.argv[2], "-m", "gpt-4.1-mini", "hi"])
print(json.dumps({{"code": code}}))
"""


@pytest.mark.parametrize("how", ["read-only", "disk-full"])
def test_a_receipt_log_that_cannot_be_written_means_nothing_is_signed(
    hostile: HostileGateway, tmp_path: Path, how: str
) -> None:
    hostile.reset(Plan(allowance=10**24))  # approved already: the call is the only thing to sign
    home = tmp_path / "home"
    data = home / "data"
    data.mkdir(parents=True)
    log = data / "receipts.jsonl"
    earlier = Receipt(id="earlier", created_at=1.0, model="m", provider="p", network="devnet",
                      endpoint="e", settlement_mode="batch")  # fmt: skip
    ReceiptStore(data).append(earlier)
    if how == "read-only":
        log.chmod(0o400)
        data.chmod(0o500)
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent(_CHILD.format(repo=str(REPO))))
    env = {**os.environ, "OG_CHAT_HOME": str(home)}
    try:
        run = subprocess.run(
            [sys.executable, str(script), how, hostile.url, str(log)],
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    finally:
        data.chmod(0o700)
        log.chmod(0o600)
    assert run.returncode == 0, run.stderr[-2000:]
    assert json.loads(run.stdout.splitlines()[-1]) == {"code": 1}
    reason = "Permission denied" if how == "read-only" else "File too large"
    assert f"cannot record the payment in {log} ({reason}); nothing was signed" in run.stderr
    assert hostile.payments == []  # not one signature left the client
    assert len(hostile.requests) == 1  # the unpaid request, answered 402
    assert [r.id for r in ReceiptStore(data).load()] == ["earlier"]


# -- malformed paid answers -----------------------------------------------------------------


def _raw(template: str) -> Callable[[dict[str, Any]], bytes]:
    """An answer whose JSON is written by hand (`1e400` is no Python float to dump)."""

    def answer(body: dict[str, Any]) -> bytes:
        fair = json.loads(fair_answer(body, {}))
        return template.replace("FAIR_TEE", json.dumps(fair)[1:-1]).encode()

    return answer


MALFORMED_JSON = {
    "usage-not-a-number": {"usage": {"prompt_tokens": "lots", "completion_tokens": 2}},
    "usage-a-list": {"usage": [1, 2, 3]},
    "tee-timestamp-2**300": {"tee_timestamp": 2**300},
    "tee-id-an-int": {"tee_id": 7},
    "tee-signature-a-list": {"tee_signature": ["x"]},
    "choices-not-a-list": {"choices": {"0": {"message": {"content": "hi"}}}},
    "content-an-int": {"choices": [{"message": {"content": 12}, "finish_reason": "stop"}]},
    "finish-reason-an-object": {"choices": [{"message": {"content": "x"}, "finish_reason": {}}]},
}


@pytest.mark.parametrize("fields", list(MALFORMED_JSON.values()), ids=list(MALFORMED_JSON))
async def test_a_malformed_paid_json_answer_is_a_gateway_error_with_a_receipt(
    hostile: HostileGateway, fields: dict[str, Any]
) -> None:
    hostile.reset(Plan(fields=fields))
    await _malformed(hostile, stream=False)


@pytest.mark.parametrize(
    "template",
    ['{FAIR_TEE, "tee_timestamp": 1e400}', '{FAIR_TEE, "usage": {"total_tokens": -1e400}}'],
    ids=["tee-timestamp-1e400", "usage-minus-infinity"],
)
async def test_infinities_in_a_paid_json_answer_are_a_gateway_error(
    hostile: HostileGateway, template: str
) -> None:
    hostile.reset(Plan(answer=_raw(template)))
    await _malformed(hostile, stream=False)


@pytest.mark.parametrize(
    "fields",
    [{"usage": {"total_tokens": "many"}}, {"tee_timestamp": 2**300}, {"tee_id": 7},
     {"choices": "all of them"}, {"images": [1]}],
    ids=["usage", "timestamp", "tee-id", "choices", "images"],
)  # fmt: skip
async def test_a_malformed_paid_sse_event_is_a_gateway_error_with_a_receipt(
    hostile: HostileGateway, fields: dict[str, Any]
) -> None:
    hostile.reset(Plan(fields=fields))
    await _malformed(hostile, stream=True)


async def test_an_sse_timestamp_of_1e400_is_a_gateway_error(hostile: HostileGateway) -> None:
    def events(body: dict[str, Any]) -> list[bytes]:
        lines = fair_events(body, {"tee_timestamp": "INF"})
        return [line.replace(b'"INF"', b"1e400") for line in lines]

    hostile.reset(Plan(events=events))
    await _malformed(hostile, stream=True)


async def test_a_paid_200_that_is_not_json_leaves_a_receipt(hostile: HostileGateway) -> None:
    hostile.reset(Plan(answer=lambda body: b"<html>surprise</html>"))
    error = await _malformed(hostile, stream=False)
    assert "not JSON" in error.reason


async def _malformed(hostile: HostileGateway, *, stream: bool) -> GatewayError:
    receipts: list[Receipt] = []
    async with LLM.from_url(None, hostile.url, on_receipt=receipts.append) as llm:
        with pytest.raises(GatewayError) as info:
            out = await llm.chat("openai/gpt-5", MSG, stream=stream)
            if stream:
                async for _ in out:  # type: ignore[union-attr]
                    pass
        assert llm.signatures_made == 1
    error = info.value
    assert "malformed answer" in str(error)
    assert error.receipt is not None and receipts == [error.receipt]
    assert error.receipt.authorization_digest and error.receipt.payer
    assert error.receipt.nonce == hostile.payments[0].nonce
    assert error.receipt.error and "malformed answer" in error.receipt.error
    return error


# -- hypothesis over the answer fields and the amounts ---------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
answer_fields = st.dictionaries(
    st.sampled_from(
        ["usage", "tee_timestamp", "tee_id", "tee_signature", "tee_request_hash",
         "tee_output_hash", "choices", "finish_reason", "images", "cost",
         "data_settlement_transaction_hash", "data_settlement_blob_id"]
    ),
    json_values,
    max_size=4,
)  # fmt: skip


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(fields=answer_fields, stream=st.booleans())
async def test_any_answer_fields_give_an_answer_or_a_typed_error(
    hostile: HostileGateway, fields: dict[str, Any], stream: bool
) -> None:
    hostile.reset(Plan(fields=fields))
    async with LLM.from_url(None, hostile.url) as llm:
        try:
            out = await llm.chat("openai/gpt-5", MSG, stream=stream)
            if stream:
                async for _ in out:  # type: ignore[union-attr]
                    pass
        except OGError as exc:
            assert exc.receipt is not None  # it was paid: never without its receipt
        assert llm.signatures_made == 1 == len(hostile.payments)


amounts = st.one_of(
    st.sampled_from(["١٢", "²", "1_000", " 12", "12 ", "0x10", "1e18", "-1", "", "+5",
                     str(2**256), "9" * 79, "1.5", "½", "𝟗"]),
    st.text(max_size=6),
    st.integers(),
)  # fmt: skip


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(amount=amounts)
async def test_an_amount_is_parsed_strictly_or_refused_unsigned(
    hostile: HostileGateway, amount: object
) -> None:
    hostile.reset(Plan(requirement={"amount": amount}))
    strict = (
        (isinstance(amount, int) and 0 < amount <= 10**18)
        or (isinstance(amount, str) and amount.isascii() and amount.isdecimal()
        and 0 < len(amount) <= 78 and 0 < int(amount) <= 10**18)
    )  # fmt: skip
    async with LLM.from_url(None, hostile.url) as llm:
        try:
            await llm.chat("openai/gpt-5", MSG)
        except OGError:
            assert not strict or llm.signatures_made == 0
        else:
            assert strict
        assert llm.signatures_made == len(hostile.payments) == (1 if strict else 0)
    if strict:
        assert hostile.payments[0].amount == int(amount)  # type: ignore[call-overload]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(amount=amounts)
async def test_a_settlement_amount_is_recorded_only_when_it_is_one(
    hostile: HostileGateway, amount: object
) -> None:
    hostile.reset(
        Plan(payment_response={"success": True, "transaction": "0x" + "ab" * 32,
                               "network": "eip155:1337001", "amount": amount})
    )  # fmt: skip
    async with LLM.from_url(None, hostile.url) as llm:
        out = await llm.chat("openai/gpt-5", MSG)
    assert out.receipt is not None
    valid = (
        isinstance(amount, str) and amount.isascii() and amount.isdecimal()
        and len(amount) <= 78 and int(amount) < 2**256
    )  # fmt: skip
    expected = opg_text(int(amount)) if valid else None  # type: ignore[call-overload]
    assert out.receipt.charged_opg == expected

"""Faults in the answer itself — cut, 5xx, slow, garbled — seen through the shared runtime.

For each: what the user is told (a typed error whose message says what to do),
that nothing is lost (the receipt file loads and holds a receipt for the call),
and that no fault ever makes the client sign a second payment.
"""

from __future__ import annotations

import time

import pytest

from og_chat.app.runtime import Runtime
from og_chat.devnet import Devnet
from og_chat.sdk import LLM
from og_chat.sdk.errors import GatewayError, OGError, StreamInterrupted
from og_chat.store.receipts import ReceiptStore
from tests.faults.fault_helpers import MODEL, Answer, ask, prompt, stored


async def test_stream_dropped_mid_answer_keeps_the_partial_answer_marked(
    devnet: Devnet, runtime: Runtime
) -> None:
    await ask(runtime)  # opens the session: the one signature of this test
    assert runtime.llm.signatures_made == 1
    devnet.faults.drop_after_tokens = 5
    seen = Answer()
    with pytest.raises(StreamInterrupted) as info:
        await ask(runtime, seen)
    exc = info.value
    assert seen.text and exc.partial_text == seen.text
    assert "send again" in str(exc) and "partial answer is kept" in str(exc)
    receipt = exc.receipt
    assert receipt is not None and receipt.error is not None
    assert receipt.output_text == seen.text and "stream interrupted" in receipt.error
    assert receipt.signature_status == "unavailable"
    kept = stored(runtime.receipts)
    assert kept[receipt.id].error == receipt.error and kept[receipt.id].output_text == seen.text
    assert len(kept) == 2
    assert runtime.llm.signatures_made == 1  # the failure was not retried, nothing re-signed
    devnet.faults.drop_after_tokens = None
    after = await ask(runtime)  # the same session carries on
    assert after.receipt.signature_status == "verified"
    assert runtime.llm.signatures_made == 1 and len(stored(runtime.receipts)) == 3


async def test_stream_dropped_on_the_first_paid_call_signs_once(
    devnet: Devnet, runtime: Runtime
) -> None:
    devnet.faults.drop_after_tokens = 2
    seen = Answer()
    with pytest.raises(StreamInterrupted) as info:
        await ask(runtime, seen)
    receipt = info.value.receipt
    assert receipt is not None
    assert runtime.llm.signatures_made == 1
    assert receipt.payer and receipt.nonce and receipt.authorization_digest  # what was signed
    assert receipt.payment_hash is None  # no answer, so no record of its own
    assert receipt.id in stored(runtime.receipts)


async def test_5xx_is_a_gateway_error_that_says_try_again_and_leaves_a_receipt(
    devnet: Devnet, runtime: Runtime
) -> None:
    await ask(runtime)
    devnet.faults.status_5xx = 503
    with pytest.raises(GatewayError) as info:
        await ask(runtime)
    assert info.value.status == 503 and "try again" in str(info.value)
    kept = list(stored(runtime.receipts).values())
    assert len(kept) == 2 and "503" in (kept[-1].error or "")
    assert kept[-1].upto_session == kept[0].upto_session  # the call was made on the session
    assert runtime.llm.signatures_made == 1
    devnet.faults.status_5xx = None
    await ask(runtime)
    assert runtime.llm.signatures_made == 1 and len(stored(runtime.receipts)) == 3


async def test_5xx_on_the_very_first_paid_call_is_not_paid_twice(
    devnet: Devnet, runtime: Runtime
) -> None:
    devnet.faults.status_5xx = 502
    with pytest.raises(GatewayError) as info:
        await ask(runtime)
    assert info.value.status == 502
    assert runtime.llm.signatures_made == 1
    (receipt,) = stored(runtime.receipts).values()
    assert receipt.authorization_digest and "502" in (receipt.error or "")


async def test_slow_first_byte_still_delivers_the_answer(devnet: Devnet, runtime: Runtime) -> None:
    await ask(runtime)
    devnet.faults.first_byte_delay = 0.6
    start = time.perf_counter()
    answer = await ask(runtime)
    assert time.perf_counter() - start >= 0.6
    assert answer.text and answer.receipt.signature_status == "verified"
    assert runtime.llm.signatures_made == 1 and answer.receipt.id in stored(runtime.receipts)


@pytest.mark.parametrize("stream", [True, False])
async def test_client_timeout_shorter_than_the_first_byte_is_respected(
    devnet: Devnet, stream: bool
) -> None:
    store = ReceiptStore()
    llm = LLM(network="devnet", devnet_url=devnet.url, timeout=0.4, on_receipt=store.append)
    messages = [{"role": "user", "content": prompt()}]
    try:
        await llm.aensure_opg_approval(5)
        await llm.chat(MODEL, messages)  # pays and opens the session
        devnet.faults.first_byte_delay = 2.0
        start = time.perf_counter()
        with pytest.raises(GatewayError) as info:
            if stream:
                async for _ in await llm.chat(MODEL, messages, stream=True):  # type: ignore[union-attr]
                    pass
            else:
                await llm.chat(MODEL, messages)
        waited = time.perf_counter() - start
    finally:
        await llm.close()
    assert 0.35 <= waited < 1.5  # the client's 0.4 s, not the gateway's 2 s
    assert "timed out" in str(info.value) and "not retried" in str(info.value)
    assert llm.signatures_made == 1
    kept = list(stored(store).values())
    assert len(kept) == 2 and "timed out" in (kept[-1].error or "")


async def test_client_timeout_on_the_paid_request_never_signs_again(devnet: Devnet) -> None:
    store = ReceiptStore()
    llm = LLM(network="devnet", devnet_url=devnet.url, timeout=0.4, on_receipt=store.append)
    try:
        await llm.aensure_opg_approval(5)
        devnet.faults.first_byte_delay = 1.0  # the 402 is instant; the paid resend is slow
        with pytest.raises(GatewayError) as info:
            await llm.chat(MODEL, [{"role": "user", "content": prompt()}])
    finally:
        await llm.close()
    assert "after paying" in str(info.value) and "to avoid paying twice" in str(info.value)
    assert llm.signatures_made == 1
    (receipt,) = stored(store).values()
    assert receipt.authorization_digest and "timed out after paying" in (receipt.error or "")


async def test_malformed_sse_mid_answer_is_a_typed_interruption(
    devnet: Devnet, runtime: Runtime
) -> None:
    await ask(runtime)
    devnet.faults.malformed_sse = True
    seen = Answer()
    with pytest.raises(StreamInterrupted) as info:
        await ask(runtime, seen, prompt=prompt("write a long essay about payment channels"))
    assert "Stream processing failed" in str(info.value)
    assert seen.text and info.value.partial_text == seen.text
    assert "{" not in seen.text or '"choices"' not in seen.text  # garbage never became text
    assert info.value.receipt is not None
    assert info.value.receipt.id in stored(runtime.receipts)
    assert runtime.llm.signatures_made == 1


async def test_malformed_sse_never_escapes_as_anything_but_an_og_error(
    devnet: Devnet, runtime: Runtime
) -> None:
    devnet.faults.malformed_sse = True
    for max_tokens in (1, 2, 5, 50):
        with pytest.raises(OGError) as info:
            await ask(runtime, max_tokens=max_tokens)
        assert isinstance(info.value, StreamInterrupted)
    assert runtime.llm.signatures_made == 1
    assert len(stored(runtime.receipts)) == 4


async def test_faults_flipped_over_http_reach_the_runtime(devnet: Devnet, runtime: Runtime) -> None:
    import httpx

    async with httpx.AsyncClient(timeout=10) as http:
        resp = await http.post(devnet.url + "/devnet/faults", json={"status_5xx": 500})
        assert resp.status_code == 200
    with pytest.raises(GatewayError) as info:
        await ask(runtime)
    assert info.value.status == 500
    async with httpx.AsyncClient(timeout=10) as http:
        await http.post(devnet.url + "/devnet/faults", json={"status_5xx": None})
    assert (await ask(runtime)).receipt.signature_status == "verified"
    # The 500 answered the first paid request, so no session came back: the next request
    # is challenged and paid anew. One signature per request, never more.
    assert runtime.llm.signatures_made == 2
    assert len(stored(runtime.receipts)) == 2

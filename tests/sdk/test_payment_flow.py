"""The x402 payment flow on its own, as any httpx client would use it (`auth=X402Auth(...)`)."""

from __future__ import annotations

import httpx

from og_chat.sdk.calls import CHAT_PATH, PaymentTrace
from og_chat.sdk.networks import devnet_document, devnet_profile
from og_chat.sdk.payment import Payer, Secret, SessionCache, X402Auth, session_key
from og_chat.sdk.policy import PaymentPolicy
from tests.sdk.gateway_double import GatewayDouble

KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
BODY = {"model": "gpt-5", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 8}


def _payer(gw: GatewayDouble) -> Payer:
    doc = devnet_document(gw.url)
    assert doc is not None
    profile = devnet_profile(doc, gw.url)
    return Payer(Secret(KEY), profile, PaymentPolicy.for_profile(profile))


def test_a_sync_client_pays_once_then_rides_the_session(gw: GatewayDouble) -> None:
    payer, sessions = _payer(gw), SessionCache()
    traces = [PaymentTrace(), PaymentTrace()]
    with httpx.Client(timeout=10) as http:
        for trace in traces:
            auth = X402Auth(payer, sessions, trace)
            assert http.post(gw.url + CHAT_PATH, json=BODY, auth=auth).status_code == 200
    first, second = traces
    assert payer.signatures_made == 1 and len(gw.payments) == 1
    assert first.paid and first.payment is not None and first.session
    assert not second.paid and second.session == first.session
    assert second.payment is first.payment  # the receipt names the authorization it rode on
    assert [("PAYMENT-SIGNATURE" in r["headers"]) for r in gw.requests] == [False, True, False]


async def test_a_streamed_answer_is_left_for_the_caller_to_read(gw: GatewayDouble) -> None:
    trace = PaymentTrace()
    async with httpx.AsyncClient(timeout=10) as http:
        request = http.build_request("POST", gw.url + CHAT_PATH, json={**BODY, "stream": True})
        auth = X402Auth(_payer(gw), SessionCache(), trace)
        resp = await http.send(request, auth=auth, stream=True)
        try:
            assert resp.status_code == 200 and not resp.is_stream_consumed
            body = b"".join([chunk async for chunk in resp.aiter_bytes()])
        finally:
            await resp.aclose()
    assert body.rstrip().endswith(b"data: [DONE]")
    assert trace.paid and len(resp.history) == 1 and resp.history[0].status_code == 402


def test_one_session_per_method_scheme_host_port_and_path() -> None:
    def key(url: str) -> str:
        return session_key(httpx.Request("POST", url))

    assert key("https://tee.example/v1/chat/completions?x=1") == (
        "POST https://tee.example:443/v1/chat/completions"
    )
    assert (
        key("http://127.0.0.1:8080/v1/completions") == "POST http://127.0.0.1:8080/v1/completions"
    )
    assert key("http://127.0.0.1/v1/completions") != key("http://127.0.0.1:8080/v1/completions")

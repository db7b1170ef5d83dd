"""Fuzzing the devnet's HTTP edge: whatever arrives, the answer is a JSON 4xx/402 (or a
200 where the request is valid), never a 5xx or a dropped connection, and the chain's
books are untouched afterwards (OPG supply, balances, account nonces)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st

from og_chat.devnet import Devnet

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TOTAL_SUPPLY = "0x18160ddd"
BALANCE_OF = "0x70a08231"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=120).map(
    str.strip
)  # HTTP trims header values; h11 refuses untrimmed ones


def _b64(value: Any) -> str:
    return base64.b64encode(json.dumps(value).encode()).decode()


payment_headers = st.one_of(
    header_text,
    json_values.map(_b64),
    st.fixed_dictionaries(
        {
            "x402Version": st.sampled_from([1, 2, 3, "2", None]),
            "accepted": json_values,
            "payload": st.one_of(
                json_values,
                st.fixed_dictionaries(
                    {"signature": header_text, "permit2Authorization": json_values}
                ),
            ),
        }
    ).map(_b64),
)
chatish = st.fixed_dictionaries(
    {
        "model": st.one_of(st.sampled_from(["gpt-4.1-mini", "claude-haiku-4-5", ""]), json_values),
        "messages": st.one_of(
            st.just([{"role": "user", "content": "hi"}]),
            st.lists(
                st.dictionaries(st.sampled_from(["role", "content"]), json_values), max_size=3
            ),
            json_values,
        ),
        "prompt": st.one_of(st.text(max_size=30), json_values),
    },
    optional={
        "max_tokens": json_values,
        "temperature": json_values,
        "stream": json_values,
        "stop": json_values,
        "tools": json_values,
        "tool_choice": json_values,
        "response_format": json_values,
    },
)
bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    chatish.map(lambda v: json.dumps(v).encode()),
)
headers = st.fixed_dictionaries(
    {},
    optional={
        "PAYMENT-SIGNATURE": payment_headers,
        "X-PAYMENT": payment_headers,
        "X-Upto-Session": header_text,
        "X-SETTLEMENT-TYPE": header_text,
        "Content-Type": st.sampled_from(["application/json", "text/plain", "", "x/y; charset=zz"]),
    },
)


@pytest.fixture(scope="module")
def fuzz_devnet() -> Iterator[Devnet]:
    """A devnet of its own, so no other test's settlement moves the books under the check."""
    net = Devnet.start(tokens_per_second=0, session_idle=0.5, batch_interval=0.5)
    try:
        yield net
    finally:
        net.stop()


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client


def _rpc(http: httpx.Client, url: str, method: str, params: list[Any]) -> Any:
    resp = http.post(
        url + "/rpc", json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    )
    return resp.json()["result"]


def _books(http: httpx.Client, net: Devnet) -> dict[str, Any]:
    """OPG supply, every known account's OPG, ETH and nonce, and the chain height."""
    doc = http.get(net.url + "/devnet").json()
    opg = doc["contracts"]["opg"]
    holders = [a["address"] for a in doc["accounts"]] + [doc["pay_to"], doc["facilitator_address"]]
    books: dict[str, Any] = {
        "supply": _rpc(http, net.url, "eth_call", [{"to": opg, "data": TOTAL_SUPPLY}, "latest"])
    }
    for who in holders:
        data = BALANCE_OF + who.lower().removeprefix("0x").rjust(64, "0")
        books[who] = (
            _rpc(http, net.url, "eth_call", [{"to": opg, "data": data}, "latest"]),
            _rpc(http, net.url, "eth_getBalance", [who, "latest"]),
            _rpc(http, net.url, "eth_getTransactionCount", [who, "latest"]),
        )
    return books


def _assert_json_answer(resp: httpx.Response, allowed: set[int]) -> Any:
    assert resp.status_code < 500, (resp.status_code, resp.text[:300])
    assert resp.status_code in allowed, (resp.status_code, resp.text[:300])
    body = resp.json()  # never a traceback page or an empty body
    assert isinstance(body, dict | list)
    return body


@pytest.fixture(scope="module")
def books_before(http: httpx.Client, fuzz_devnet: Devnet) -> Iterator[dict[str, Any]]:
    """The books before any fuzzing, checked unchanged once the module is done."""
    before = _books(http, fuzz_devnet)
    yield before


@FUZZ
@given(
    path=st.sampled_from(["/v1/chat/completions", "/v1/completions"]),
    body=bodies,
    extra=headers,
)
@example(path="/v1/chat/completions", body=b"[" * 100_000, extra={})
@example(
    path="/v1/completions",
    body=b'{"model": "gpt-4.1-mini", "prompt": "hi"}',
    extra={"PAYMENT-SIGNATURE": "e30="},
)
@example(
    path="/v1/chat/completions",
    body=b'{"model":"gpt-4.1-mini","messages":[{"role":"user","content":"hi"}]}',
    extra={
        "X-Upto-Session": "00000000-0000-0000-0000-000000000000",
        "X-SETTLEMENT-TYPE": "individual",
    },
)
def test_inference_endpoints_answer_garbage_with_json_4xx(
    http: httpx.Client,
    fuzz_devnet: Devnet,
    books_before: dict[str, Any],
    path: str,
    body: bytes,
    extra: dict[str, str],
) -> None:
    resp = http.post(fuzz_devnet.url + path, content=body, headers=extra)
    answer = _assert_json_answer(resp, {400, 402, 413})
    assert isinstance(answer, dict) and answer.get("error")
    if (
        resp.status_code == 402
        and "PAYMENT-SIGNATURE" not in extra
        and "X-Upto-Session" not in extra
    ):
        assert "PAYMENT-REQUIRED" in resp.headers  # a fresh challenge, never a charge


rpc_methods = st.sampled_from(
    ["eth_sendRawTransaction", "eth_call", "eth_getBalance", "eth_getLogs", "eth_estimateGas",
     "eth_getTransactionReceipt", "eth_getBlockByNumber", "eth_getStorageAt", "nope", ""]
)  # fmt: skip
rpc_items = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {
            "jsonrpc": st.just("2.0"),
            "id": json_values,
            "method": st.one_of(rpc_methods, json_values),
        },
        optional={
            "params": st.one_of(
                json_values,
                st.lists(
                    st.one_of(json_values, st.binary(max_size=80).map(lambda b: "0x" + b.hex())),
                    max_size=3,
                ),
            )
        },
    ),
)


@FUZZ
@given(
    body=st.one_of(
        st.binary(max_size=300),
        rpc_items.map(lambda v: json.dumps(v).encode()),
        st.lists(rpc_items, max_size=4).map(lambda v: json.dumps(v).encode()),
    ),
    extra=headers,
)
def test_rpc_answers_garbage_with_json_rpc_errors(
    http: httpx.Client,
    fuzz_devnet: Devnet,
    books_before: dict[str, Any],
    body: bytes,
    extra: dict[str, str],
) -> None:
    resp = http.post(fuzz_devnet.url + "/rpc", content=body, headers=extra)
    _assert_json_answer(resp, {200, 400, 413})


facilitator_bodies = st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries(
        {
            "x402Version": st.sampled_from([1, 2, "2", None]),
            "paymentPayload": st.one_of(
                json_values,
                st.fixed_dictionaries(
                    {"x402Version": st.just(2), "accepted": json_values, "payload": json_values}
                ),
            ),
            "paymentRequirements": json_values,
        }
    ).map(lambda v: json.dumps(v).encode()),
)


@FUZZ
@given(path=st.sampled_from(["/verify", "/settle"]), body=facilitator_bodies)
def test_facilitator_answers_garbage_with_json_4xx(
    http: httpx.Client, fuzz_devnet: Devnet, books_before: dict[str, Any], path: str, body: bytes
) -> None:
    resp = http.post(
        fuzz_devnet.url + path, content=body, headers={"Content-Type": "application/json"}
    )
    answer = _assert_json_answer(resp, {200, 400, 402, 413})
    if resp.status_code == 200 and isinstance(answer, dict):
        assert answer.get("isValid") is not True and answer.get("success") is not True


def test_books_are_unchanged_after_the_fuzzing(
    http: httpx.Client, fuzz_devnet: Devnet, books_before: dict[str, Any]
) -> None:
    """Runs last in the module: nothing above moved a token, a wei or a nonce."""
    assert _books(http, fuzz_devnet) == books_before
    assert all(s.status == "open" for s in fuzz_devnet.gateway.sessions.values())
    assert not fuzz_devnet.gateway.sessions and not fuzz_devnet.gateway.records

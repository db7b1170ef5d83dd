"""Hostile input the devnet bounds: endless `eth_call`s, bad fault switches, oversized bodies.

* An `eth_call` (or `eth_estimateGas`) of a contract that loops forever ends in an
  error, and paid calls keep being served while such calls keep coming.
* `POST /devnet/faults` refuses NaN, infinities and out-of-range values with 400 and
  changes nothing.
* Every route that reads a body answers 413 above the size limit, declared or chunked.
* The time limit counts the call's own work: time spent waiting for its turn is not.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from og_chat.devnet import Devnet
from og_chat.devnet.app import MAX_BODY_BYTES
from og_chat.devnet.evm_call import CallOutcome, CallRequest, execute
from og_chat.devnet.evm_rules import time_limit
from og_chat.devnet.jsonrpc import RPC_GAS_CAP, RPC_TIME_LIMIT, RPC_WALL_LIMIT
from og_chat.sdk.rpc import call_data
from tests.conformance.scenario import LOOPER, init_code
from tests.devnet.paying_client import Payer, chat_body, rpc, wait_receipt


async def _looper(client: httpx.AsyncClient, devnet: Devnet) -> str:
    sender = devnet.accounts[8].address
    tx_hash = await rpc(
        client, devnet.url, "eth_sendTransaction", [{"from": sender, "data": init_code(LOOPER)}]
    )
    return str((await wait_receipt(client, devnet.url, tx_hash))["contractAddress"])


async def test_an_endless_call_ends_in_an_error_while_paid_calls_keep_flowing(
    devnet: Devnet, payer: Payer, client: httpx.AsyncClient
) -> None:
    looper = await _looper(client, devnet)
    hostile_done = asyncio.Event()
    served_during: list[int] = []
    answers: list[dict[str, object]] = []

    async def hostile() -> None:
        try:
            for method in ("eth_call", "eth_estimateGas", "eth_call"):
                params: list[object] = [{"to": looper}]
                if method == "eth_call":
                    params.append("latest")
                answer = await client.post(
                    devnet.url + "/rpc",
                    json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params},
                )
                answers.append(answer.json())
        finally:
            hostile_done.set()

    async def paid() -> None:
        while not hostile_done.is_set():
            answer = await payer.post(client, chat_body("still served?"))
            assert answer.status_code == 200, answer.text
            if not hostile_done.is_set():
                served_during.append(answer.status_code)

    await asyncio.gather(hostile(), paid())
    assert len(answers) == 3
    for answer in answers:
        error = answer["error"]
        assert isinstance(error, dict)
        # Aborted at the time limit, or out of gas at the cap on a machine fast enough.
        assert (error["code"], "timeout" in str(error["message"])) == (-32000, True) or error[
            "code"
        ] in (-32603, -32003), error
    assert served_during, "no paid call was served while the endless calls ran"
    # The cap itself: a call naming more gas than the cap runs with the cap.
    capped = await client.post(
        devnet.url + "/rpc",
        json={
            "jsonrpc": "2.0",
            "id": 2,
            "method": "eth_estimateGas",
            "params": [{"to": devnet.accounts[1].address, "gas": hex(RPC_GAS_CAP * 10)}],
        },
    )
    assert capped.json()["result"] == "0x5208"


@pytest.mark.parametrize(
    "body",
    [
        '{"first_byte_delay": NaN}',
        '{"first_byte_delay": Infinity}',
        '{"first_byte_delay": -Infinity}',
        '{"first_byte_delay": 1e400}',
        '{"first_byte_delay": -1}',
        '{"first_byte_delay": 1e9}',
        '{"drop_after_tokens": -1}',
        '{"drop_after_tokens": 1e3}',
        '{"drop_after_tokens": 100000000000000000000000000000000}',
        '{"status_5xx": 600}',
        '{"status_5xx": 499}',
        '{"status_5xx": true}',
        '{"malformed_sse": 1}',
        '{"first_byte_delay": 0.5, "status_5xx": 700}',
        '{"no_such_fault": 1}',
        '["first_byte_delay", 1]',
    ],
)
async def test_fault_switches_refuse_nan_and_out_of_range_values(
    devnet: Devnet, client: httpx.AsyncClient, body: str
) -> None:
    before = (await client.get(devnet.url + "/devnet/faults")).json()
    answer = await client.post(
        devnet.url + "/devnet/faults", content=body, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 400 and "error" in answer.json()
    assert (await client.get(devnet.url + "/devnet/faults")).json() == before


async def test_fault_switches_accept_values_in_range(
    devnet: Devnet, client: httpx.AsyncClient
) -> None:
    answer = await client.post(
        devnet.url + "/devnet/faults", json={"first_byte_delay": 0.25, "status_5xx": 503}
    )
    assert answer.status_code == 200
    assert answer.json()["first_byte_delay"] == 0.25 and answer.json()["status_5xx"] == 503


POST_ROUTES = (
    "/v1/chat/completions",
    "/v1/completions",
    "/devnet/faults",
    "/rpc",
    "/verify",
    "/settle",
)


@pytest.mark.parametrize("path", POST_ROUTES)
@pytest.mark.parametrize("chunked", [False, True])
async def test_every_route_answers_413_above_the_body_limit(
    devnet: Devnet, client: httpx.AsyncClient, path: str, chunked: bool
) -> None:
    oversized = b'{"pad": "' + b"x" * MAX_BODY_BYTES + b'"}'

    async def pieces() -> AsyncIterator[bytes]:
        for start in range(0, len(oversized), 65536):
            yield oversized[start : start + 65536]

    content = pieces() if chunked else oversized
    answer = await client.post(
        devnet.url + path, content=content, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 413, (path, answer.status_code, answer.text[:200])
    assert "larger than" in json.loads(answer.text)["error"]
    # The route still serves a body of normal size afterwards.
    small = await client.post(devnet.url + path, json={})
    assert small.status_code != 413


def test_the_time_limit_counts_the_calls_own_work_not_its_wait(devnet: Devnet) -> None:
    """On a busy machine a call waits for the GIL; that wait is not the call's work.

    An 80 ms registry read that waited a wall-clock second once came back aborted, so
    the client fell back to the gateway's self-vouched key. Here the wait is a sleep on
    the worker, past the whole CPU limit, before the call runs: the call still answers.
    A wall clock far past the limit still aborts it (the backstop).
    """
    node = devnet.chain.node
    registry = devnet.chain.addresses.tee_registry
    request = CallRequest(
        to=registry,
        data=bytes.fromhex(call_data("getActiveTEEs(uint8)", 0)[2:]),
        gas=RPC_GAS_CAP,
    )

    def waited_then_called(wall: float) -> CallOutcome:
        with time_limit(RPC_TIME_LIMIT, wall):
            time.sleep(RPC_TIME_LIMIT + 0.3)
            return execute(node.pyevm, request, "latest")

    outcome = node.submit(lambda: waited_then_called(RPC_WALL_LIMIT)).result(timeout=60)
    assert outcome.ok and not outcome.timed_out
    assert len(outcome.output) > 1_000  # the registry's TEE, its key and certificate
    backstop = node.submit(lambda: waited_then_called(RPC_TIME_LIMIT)).result(timeout=60)
    assert backstop.timed_out

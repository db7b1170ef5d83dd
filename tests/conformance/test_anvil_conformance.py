"""The devnet's `/rpc` answers every standard method as anvil answers it.

Both nodes get the same requests (scenario.py) in the same order; each answer is
compared by shape (field names, types, lengths, error codes) or, where both chains
must agree (the same key signing the same bytes, the same code and storage), by
value. Any difference fails, except the few listed in DEVIATIONS, each with the
reason and each checked on both sides, so a change on either side is noticed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from og_chat.devnet import Devnet
from tests.conformance.nodes import Node, running_anvil
from tests.conformance.scenario import SCENARIO, Observation, call
from tests.conformance.shapes import differences

DEVIATIONS = {
    "net_peerCount": (
        "anvil 1.7.1 does not serve it; web3.py's `w3.net.peer_count` asks for it, so the "
        "devnet answers a dev node's standard 0x0"
    ),
    "eth_mining": (
        "anvil 1.7.1 does not serve it; the devnet answers the post-merge standard `false`"
    ),
    "a body that is not JSON": (
        "anvil answers -32600; JSON-RPC 2.0 §5.1 (and geth) answer -32700 Parse error"
    ),
}


@pytest.fixture(scope="module")
def nodes() -> Iterator[tuple[Node, Node]]:
    with running_anvil() as anvil_url:
        devnet = Devnet.start(tokens_per_second=0)
        try:
            yield Node("devnet", devnet.url + "/rpc"), Node("anvil", anvil_url)
        finally:
            devnet.stop()


def _response_differences(ours: Any, theirs: Any, exact: bool) -> list[str]:
    """Differences between two JSON-RPC response objects (or lists of them)."""
    if isinstance(ours, list) and isinstance(theirs, list):
        if len(ours) != len(theirs):
            return [f"batch of {len(ours)} answers, anvil's of {len(theirs)}"]
        return [
            d for a, b in zip(ours, theirs, strict=True) for d in _response_differences(a, b, exact)
        ]
    if not isinstance(ours, dict) or not isinstance(theirs, dict):
        return [] if ours == theirs else [f"answer {ours!r}, anvil's {theirs!r}"]
    out = []
    if ours.get("id") != theirs.get("id") or ("id" in ours) != ("id" in theirs):
        out.append(f"id {ours.get('id')!r}, anvil's {theirs.get('id')!r}")
    if "error" in ours or "error" in theirs:
        if "error" not in ours or "error" not in theirs:
            return [*out, f"answer {_brief(ours)}, anvil's {_brief(theirs)}"]
        a, b = ours["error"], theirs["error"]
        if a.get("code") != b.get("code"):
            out.append(f"error code {a.get('code')} ({a.get('message')!r}), anvil's "
                       f"{b.get('code')} ({b.get('message')!r})")  # fmt: skip
        if ("data" in a) != ("data" in b) or (exact and a.get("data") != b.get("data")):
            out.append(f"error data {a.get('data')!r}, anvil's {b.get('data')!r}")
        return out
    if exact:
        if ours.get("result") != theirs.get("result"):
            out.append(
                f"result {_brief(ours.get('result'))}, anvil's {_brief(theirs.get('result'))}"
            )
        return out
    return out + differences(ours.get("result"), theirs.get("result"))


def _brief(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 200 else text[:197] + "..."


def _anvil_quirks(observation: Observation) -> Observation:
    """anvil 1.7.1 writes a receipt's blockTimestamp as a JSON number (its logs and
    transactions carry the usual hex quantity); the devnet writes hex everywhere."""

    def fix(value: Any) -> Any:
        if isinstance(value, dict):
            out = {k: fix(v) for k, v in value.items()}
            if "cumulativeGasUsed" in out and isinstance(out.get("blockTimestamp"), int):
                out["blockTimestamp"] = hex(out["blockTimestamp"])
            return out
        if isinstance(value, list):
            return [fix(v) for v in value]
        return value

    return Observation(observation.label, fix(observation.answer), observation.exact)


def _observe(node: Node) -> list[Observation]:
    return [observation for step in SCENARIO for observation in step(node)]


def test_the_devnet_answers_every_request_as_anvil_does(nodes: tuple[Node, Node]) -> None:
    ours, anvil = nodes
    our_answers = _observe(ours)
    anvil_answers = [_anvil_quirks(o) for o in _observe(anvil)]
    assert [o.label for o in our_answers] == [o.label for o in anvil_answers]
    problems = []
    for mine, theirs in zip(our_answers, anvil_answers, strict=True):
        if isinstance(mine.answer, tuple):
            (status, body), (their_status, their_body) = mine.answer, theirs.answer
            found = [] if status == their_status else [f"HTTP {status}, anvil's {their_status}"]
            found += _response_differences(body, their_body, exact=False)
        else:
            found = _response_differences(mine.answer, theirs.answer, mine.exact)
        problems += [f"{mine.label}: {d}" for d in found]
    assert not problems, "the devnet differs from anvil:\n" + "\n".join(problems)
    assert len(our_answers) > 150


def test_the_listed_deviations_hold_on_both_sides(nodes: tuple[Node, Node]) -> None:
    ours, anvil = nodes
    assert set(DEVIATIONS) == {"net_peerCount", "eth_mining", "a body that is not JSON"}
    assert anvil.rpc("net_peerCount", [])["error"]["code"] == -32601
    assert ours.rpc("net_peerCount", [])["result"] == "0x0"
    assert anvil.rpc("eth_mining", [])["error"]["code"] == -32601
    assert ours.rpc("eth_mining", [])["result"] is False
    assert anvil.post_raw(b"{not json")[1]["error"]["code"] == -32600
    assert ours.post_raw(b"{not json")[1]["error"]["code"] == -32700
    # Every other method of the scenario is one both serve (no -32601 on either side).
    served = [call(n, m, m, []) for n in (ours, anvil) for m in ("eth_blobBaseFee", "eth_accounts")]
    assert all("result" in o.answer for o in served)

"""The requests the conformance test sends to anvil and to the devnet, in order.

Inputs are genesis-independent: both chains fund the ten accounts of the `test … junk`
mnemonic, so account 0 deploys the same three tiny contracts at the same addresses on
both, and the same calls and transactions follow. Each step records the whole answer
under a label; `exact=True` marks answers that must be equal value for value (the
same key signing the same bytes, the same code, the same storage), the rest are
compared by shape (shapes.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .nodes import Node

ACCOUNT_0 = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
ACCOUNT_1 = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"
ACCOUNT_1_CHECKSUM = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
KEY_0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
STRANGER = "0x" + "77" * 20
TOPIC = "0x" + "ab" * 32
UNKNOWN_HASH = "0x" + "11" * 32
SLOT_0 = "0x" + "00" * 32
SLOT_1 = "0x" + "00" * 31 + "01"

LOGGER = "6000358060005560206000a100"
"""Runtime: sstore(0, calldata[0:32]); log1(memory[0:32], topic = calldata[0:32])."""
REVERTER = (
    "6064600c6000396064600"
    + "0fd"
    + "08c379a0"
    + f"{32:064x}"
    + f"{4:064x}"
    + "6e6f7065"
    + "00" * 28
)
"""Runtime: revert with Error("nope")."""
LOOPER = "5b600056"
"""Runtime: JUMPDEST PUSH1 0 JUMP, forever."""
TYPED_DATA = {
    "types": {
        "EIP712Domain": [{"name": "name", "type": "string"}],
        "Mail": [{"name": "id", "type": "uint256"}, {"name": "to", "type": "address"}],
    },
    "primaryType": "Mail",
    "domain": {"name": "og-chat conformance"},
    "message": {"id": "7", "to": ACCOUNT_1},
}


def init_code(runtime: str) -> str:
    """Init code that returns `runtime` as the contract's code."""
    n = len(runtime) // 2
    return f"0x60{n:02x}600c60003960{n:02x}6000f3" + runtime


@dataclass
class Observation:
    """One answer: a JSON-RPC response object, or `(HTTP status, body)` for envelope steps."""

    label: str
    answer: Any
    exact: bool = False


Step = Callable[[Node], Iterator[Observation]]


def call(
    node: Node, label: str, method: str, params: list[Any], exact: bool = False
) -> Observation:
    return Observation(label, node.rpc(method, params), exact)


def node_and_network(node: Node) -> Iterator[Observation]:
    node.saved["chain_id"] = int(node.result("eth_chainId", []), 16)
    for method, exact in [
        ("web3_clientVersion", False),
        ("net_version", False),
        ("net_listening", True),
        ("eth_protocolVersion", True),
        ("eth_syncing", True),
        ("eth_coinbase", True),
        ("eth_hashrate", True),
        ("eth_chainId", False),
        ("eth_blockNumber", False),
        ("eth_gasPrice", False),
        ("eth_maxPriorityFeePerGas", True),
        ("eth_blobBaseFee", True),
        ("eth_accounts", True),
        ("eth_getWork", False),
    ]:
        yield call(node, method, method, [], exact)
    yield call(node, "web3_sha3", "web3_sha3", ["0x68656c6c6f"], exact=True)
    yield call(
        node, "eth_submitWork", "eth_submitWork", ["0x" + "00" * 8, UNKNOWN_HASH, UNKNOWN_HASH]
    )
    yield call(node, "eth_submitHashrate", "eth_submitHashrate", ["0x1", UNKNOWN_HASH])
    yield call(node, "eth_chainId with a parameter too many", "eth_chainId", [1])
    yield call(node, "unknown method", "eth_noSuchMethod", [])


def accounts_and_signing(node: Node) -> Iterator[Observation]:
    yield call(node, "eth_getBalance", "eth_getBalance", [ACCOUNT_0, "latest"])
    yield call(
        node, "eth_getTransactionCount", "eth_getTransactionCount", [ACCOUNT_0, "latest"], True
    )
    yield call(node, "eth_getCode of an account", "eth_getCode", [ACCOUNT_0, "latest"], True)
    yield call(
        node, "eth_getStorageAt empty", "eth_getStorageAt", [ACCOUNT_0, "0x0", "latest"], True
    )
    yield call(node, "eth_sign", "eth_sign", [ACCOUNT_0, "0x68656c6c6f"], exact=True)
    yield call(node, "personal_sign", "personal_sign", ["0x68656c6c6f", ACCOUNT_0], exact=True)
    yield call(node, "eth_signTypedData_v4", "eth_signTypedData_v4", [ACCOUNT_0, TYPED_DATA], True)
    yield call(
        node,
        "eth_signTypedData_v4 as JSON text",
        "eth_signTypedData_v4",
        [ACCOUNT_0, json.dumps(TYPED_DATA)],
        exact=True,
    )
    yield call(node, "eth_signTypedData (v1)", "eth_signTypedData", [ACCOUNT_0, TYPED_DATA])
    yield call(node, "eth_sign by a stranger", "eth_sign", [STRANGER, "0x00"])
    yield call(node, "eth_sign of text", "eth_sign", [ACCOUNT_0, "hello"])
    chain_id = hex(node.saved["chain_id"])
    full = {
        "from": ACCOUNT_0, "to": ACCOUNT_1, "value": "0x1", "nonce": "0x7", "gas": "0x5208",
        "maxFeePerGas": "0x77359400", "maxPriorityFeePerGas": "0x3b9aca00", "chainId": chain_id,
    }  # fmt: skip
    yield call(node, "eth_signTransaction", "eth_signTransaction", [full])
    yield call(
        node,
        "eth_signTransaction, wrong chain",
        "eth_signTransaction",
        [{**full, "chainId": "0x1"}],
    )
    yield call(
        node,
        "eth_sendTransaction by a stranger",
        "eth_sendTransaction",
        [{"from": STRANGER, "to": ACCOUNT_1, "value": "0x1"}],
    )


def deployments(node: Node) -> Iterator[Observation]:
    """Account 0 deploys the logger, the reverter and the looper (its nonces 0, 1, 2)."""
    for name, runtime in (("logger", LOGGER), ("reverter", REVERTER), ("looper", LOOPER)):
        sent = node.rpc("eth_sendTransaction", [{"from": ACCOUNT_0, "data": init_code(runtime)}])
        yield Observation(f"deploy {name}", sent)
        receipt = node.mined_receipt(sent["result"])
        node.saved[name] = receipt["contractAddress"]
        node.saved[f"{name} deployment"] = sent["result"]
        yield Observation(f"deploy {name}: receipt", {"result": receipt})
        yield Observation(
            f"deploy {name}: address", {"result": receipt["contractAddress"]}, exact=True
        )
    logger = node.saved["logger"]
    yield call(node, "eth_getCode of the logger", "eth_getCode", [logger, "latest"], exact=True)
    yield call(
        node,
        "eth_getTransactionByHash (creation)",
        "eth_getTransactionByHash",
        [node.saved["logger deployment"]],
    )


def filters_and_logs(node: Node) -> Iterator[Observation]:
    logger = node.saved["logger"]
    log_filter = node.result("eth_newFilter", [{"address": logger}])
    history = node.result("eth_newFilter", [{"address": logger, "fromBlock": "0x0"}])
    block_filter = node.result("eth_newBlockFilter", [])
    pending_filter = node.result("eth_newPendingTransactionFilter", [])
    yield Observation("eth_newFilter", {"result": log_filter})
    yield call(
        node, "eth_getFilterChanges, nothing yet", "eth_getFilterChanges", [log_filter], True
    )
    sent = node.result("eth_sendTransaction", [{"from": ACCOUNT_0, "to": logger, "data": TOPIC}])
    receipt = node.mined_receipt(sent)
    node.saved["log tx"] = sent
    node.saved["log block"] = receipt["blockNumber"]
    node.saved["log block hash"] = receipt["blockHash"]
    yield Observation("eth_getTransactionReceipt with a log", {"result": receipt})
    yield Observation("receipt logsBloom", {"result": receipt["logsBloom"]}, exact=True)
    yield call(node, "eth_getTransactionByHash", "eth_getTransactionByHash", [sent])
    yield call(node, "eth_getFilterChanges: the log", "eth_getFilterChanges", [log_filter])
    yield call(
        node, "eth_getFilterChanges: then nothing", "eth_getFilterChanges", [log_filter], True
    )
    yield call(node, "eth_getFilterChanges: history", "eth_getFilterChanges", [history])
    yield call(node, "eth_getFilterChanges: blocks", "eth_getFilterChanges", [block_filter])
    yield call(node, "eth_getFilterChanges: pending", "eth_getFilterChanges", [pending_filter])
    yield call(node, "eth_getFilterLogs", "eth_getFilterLogs", [log_filter])
    yield call(node, "eth_getFilterLogs of a block filter", "eth_getFilterLogs", [block_filter])
    yield call(node, "eth_uninstallFilter", "eth_uninstallFilter", [block_filter], True)
    yield call(node, "eth_uninstallFilter again", "eth_uninstallFilter", [block_filter], True)
    yield call(node, "eth_getFilterChanges, uninstalled", "eth_getFilterChanges", [block_filter])
    yield call(
        node, "eth_getLogs by address", "eth_getLogs", [{"address": logger, "fromBlock": "0x0"}]
    )
    yield call(
        node,
        "eth_getLogs by topic",
        "eth_getLogs",
        [{"fromBlock": "0x0", "toBlock": "latest", "topics": [[TOPIC, UNKNOWN_HASH]]}],
    )
    yield call(
        node, "eth_getLogs by block hash", "eth_getLogs", [{"blockHash": receipt["blockHash"]}]
    )
    yield call(
        node,
        "eth_getLogs, topic in the wrong place",
        "eth_getLogs",
        [{"fromBlock": "0x0", "topics": [None, TOPIC]}],
        exact=True,
    )
    yield call(
        node,
        "eth_getLogs, reversed range",
        "eth_getLogs",
        [{"fromBlock": "0x2", "toBlock": "0x1"}],
        True,
    )
    yield call(node, "eth_getLogs, unknown block", "eth_getLogs", [{"blockHash": UNKNOWN_HASH}])
    yield call(node, "eth_getLogs past the head", "eth_getLogs", [{"fromBlock": "0x999999"}])


def blocks(node: Node) -> Iterator[Observation]:
    number, block_hash = node.saved["log block"], node.saved["log block hash"]
    yield call(node, "eth_getBlockByNumber", "eth_getBlockByNumber", [number, False])
    yield call(node, "eth_getBlockByNumber, full", "eth_getBlockByNumber", [number, True])
    yield call(node, "eth_getBlockByHash", "eth_getBlockByHash", [block_hash, False])
    yield call(node, "eth_getBlockByHash, full", "eth_getBlockByHash", [block_hash, True])
    yield call(node, "eth_getBlockByNumber 0", "eth_getBlockByNumber", ["0x0", False])
    yield call(node, "eth_getBlockByNumber earliest", "eth_getBlockByNumber", ["earliest", False])
    yield call(node, "eth_getBlockByNumber pending", "eth_getBlockByNumber", ["pending", False])
    yield call(
        node, "eth_getBlockByNumber unknown", "eth_getBlockByNumber", ["0x999999", False], True
    )
    yield call(
        node, "eth_getBlockByHash unknown", "eth_getBlockByHash", [UNKNOWN_HASH, False], True
    )
    for method, ref in (
        ("eth_getBlockTransactionCountByNumber", number),
        ("eth_getBlockTransactionCountByHash", block_hash),
        ("eth_getUncleCountByBlockNumber", number),
        ("eth_getUncleCountByBlockHash", block_hash),
    ):
        yield call(node, method, method, [ref], exact=True)
    yield call(
        node, "eth_getBlockTransactionCountByNumber unknown", "eth_getBlockTransactionCountByNumber",
        ["0x999999"], True,
    )  # fmt: skip
    yield call(
        node,
        "eth_getUncleCountByBlockNumber unknown",
        "eth_getUncleCountByBlockNumber",
        ["0x999999"],
    )
    yield call(
        node, "eth_getUncleCountByBlockHash unknown", "eth_getUncleCountByBlockHash", [UNKNOWN_HASH]
    )
    yield call(
        node, "eth_getBlockTransactionCountByHash unknown", "eth_getBlockTransactionCountByHash",
        [UNKNOWN_HASH], True,
    )  # fmt: skip
    yield call(
        node, "eth_getUncleByBlockNumberAndIndex", "eth_getUncleByBlockNumberAndIndex", [number, "0x0"],
        True,
    )  # fmt: skip
    yield call(
        node, "eth_getUncleByBlockHashAndIndex", "eth_getUncleByBlockHashAndIndex",
        [block_hash, "0x0"], True,
    )  # fmt: skip
    yield call(
        node, "eth_getTransactionByBlockNumberAndIndex", "eth_getTransactionByBlockNumberAndIndex",
        [number, "0x0"],
    )  # fmt: skip
    yield call(
        node, "eth_getTransactionByBlockHashAndIndex", "eth_getTransactionByBlockHashAndIndex",
        [block_hash, "0x0"],
    )  # fmt: skip
    yield call(
        node, "eth_getTransactionByBlockNumberAndIndex past the end",
        "eth_getTransactionByBlockNumberAndIndex", [number, "0x9"], True,
    )  # fmt: skip
    yield call(node, "eth_getBlockReceipts by number", "eth_getBlockReceipts", [number])
    yield call(node, "eth_getBlockReceipts by hash", "eth_getBlockReceipts", [block_hash])
    yield call(node, "eth_getBlockReceipts unknown", "eth_getBlockReceipts", ["0x999999"], True)
    yield call(
        node, "eth_getTransactionByHash unknown", "eth_getTransactionByHash", [UNKNOWN_HASH], True
    )
    yield call(
        node, "eth_getTransactionReceipt unknown", "eth_getTransactionReceipt", [UNKNOWN_HASH], True
    )


def calls_and_gas(node: Node) -> Iterator[Observation]:
    logger, reverter, looper = node.saved["logger"], node.saved["reverter"], node.saved["looper"]
    transfer = {"from": ACCOUNT_0, "to": ACCOUNT_1, "value": "0x1"}
    yield call(node, "eth_call", "eth_call", [{"to": logger, "data": TOPIC}, "latest"], exact=True)
    yield call(node, "eth_call, reverts", "eth_call", [{"to": reverter}, "latest"], exact=True)
    yield call(node, "eth_call, loops out of gas", "eth_call", [{"to": looper, "gas": "0x30000"}])
    yield call(
        node,
        "eth_call, from nobody with value",
        "eth_call",
        [{"from": STRANGER, "to": ACCOUNT_1, "value": "0x1"}],
    )
    yield call(node, "eth_call at an unknown block", "eth_call", [{"to": logger}, "0x999999"])
    yield call(node, "eth_estimateGas, transfer", "eth_estimateGas", [transfer], exact=True)
    nonce = node.result("eth_getTransactionCount", [ACCOUNT_0, "pending"])
    yield call(
        node,
        "eth_estimateGas with a nonce",
        "eth_estimateGas",
        [{**transfer, "nonce": nonce}],
        True,
    )
    yield call(
        node,
        "eth_estimateGas, call",
        "eth_estimateGas",
        [{"from": ACCOUNT_0, "to": logger, "data": TOPIC}],
    )
    yield call(
        node,
        "eth_estimateGas, reverts",
        "eth_estimateGas",
        [{"from": ACCOUNT_0, "to": reverter}],
        True,
    )
    yield call(
        node, "eth_estimateGas, loops", "eth_estimateGas", [{"to": looper, "gas": "0x30000"}], True
    )
    acl = node.rpc("eth_createAccessList", [{"from": ACCOUNT_0, "to": logger, "data": TOPIC}])
    yield Observation("eth_createAccessList", acl)
    yield Observation(
        "eth_createAccessList: the list", {"result": acl["result"]["accessList"]}, exact=True
    )
    yield call(node, "eth_createAccessList, transfer", "eth_createAccessList", [transfer])
    yield call(
        node,
        "eth_createAccessList, reverts",
        "eth_createAccessList",
        [{"from": ACCOUNT_0, "to": reverter}],
        True,
    )


def state_and_proofs(node: Node) -> Iterator[Observation]:
    logger = node.saved["logger"]
    yield call(
        node, "eth_getStorageAt of the logger", "eth_getStorageAt", [logger, "0x0", "latest"], True
    )
    yield call(node, "eth_getProof", "eth_getProof", [logger, [SLOT_0, SLOT_1], "latest"])
    proof = node.result("eth_getProof", [logger, [SLOT_0, SLOT_1], "latest"])
    genesis_free = {k: proof[k] for k in ("address", "balance", "codeHash", "nonce", "storageHash")}
    genesis_free["storage"] = [(s["key"], s["value"], s["proof"]) for s in proof["storageProof"]]
    yield Observation("eth_getProof: account and storage", {"result": genesis_free}, exact=True)
    yield call(node, "eth_getProof of nobody", "eth_getProof", [STRANGER, [], "latest"])
    yield call(node, "eth_getAccount", "eth_getAccount", [logger, "latest"], exact=True)
    yield call(
        node, "eth_getBalance by block hash", "eth_getBalance",
        [ACCOUNT_0, {"blockHash": node.saved["log block hash"]}],
    )  # fmt: skip
    yield call(
        node, "eth_getBalance by block number object", "eth_getBalance",
        [ACCOUNT_0, {"blockNumber": node.saved["log block"]}],
    )  # fmt: skip
    yield call(
        node, "eth_getBalance at an unknown block", "eth_getBalance", [ACCOUNT_0, "0x999999"]
    )
    yield call(
        node,
        "eth_getBalance at an unknown hash",
        "eth_getBalance",
        [ACCOUNT_0, {"blockHash": UNKNOWN_HASH}],
    )
    yield call(node, "eth_getBalance without parameters", "eth_getBalance", [])
    yield call(node, "eth_getBalance of a bad address", "eth_getBalance", ["0xzz", "latest"])


def fees(node: Node) -> Iterator[Observation]:
    yield call(
        node, "eth_feeHistory with percentiles", "eth_feeHistory", ["0x3", "latest", [25, 75]]
    )
    yield call(node, "eth_feeHistory without", "eth_feeHistory", ["0x3", "latest"])
    yield call(node, "eth_feeHistory, one block", "eth_feeHistory", ["0x1", "latest", [50]])
    yield call(node, "eth_feeHistory, a number count", "eth_feeHistory", [2, "latest", [10]])
    yield call(node, "eth_feeHistory, pending", "eth_feeHistory", ["0x2", "pending", [10]])
    yield call(node, "eth_feeHistory, from block 1", "eth_feeHistory", ["0x2", "0x1", [10]])


def transactions(node: Node) -> Iterator[Observation]:
    from eth_account import Account

    chain_id = node.saved["chain_id"]
    nonce = int(node.result("eth_getTransactionCount", [ACCOUNT_0, "pending"]), 16)
    fee = int(node.result("eth_gasPrice", []), 16)
    tx = {"type": 2, "chainId": chain_id, "nonce": nonce, "to": ACCOUNT_1_CHECKSUM, "value": 1, "gas": 21_000,
          "maxFeePerGas": 2 * fee, "maxPriorityFeePerGas": 10**9}  # fmt: skip
    raw = "0x" + bytes(Account.sign_transaction(tx, KEY_0).raw_transaction).hex()
    yield call(node, "eth_sendRawTransaction", "eth_sendRawTransaction", [raw])
    yield call(node, "eth_sendRawTransaction, nonce too low", "eth_sendRawTransaction", [raw])
    yield call(node, "eth_sendRawTransaction, garbage", "eth_sendRawTransaction", ["0x1234"])
    legacy = node.result(
        "eth_sendTransaction",
        [{"from": ACCOUNT_0, "to": ACCOUNT_1, "value": "0x1", "gasPrice": hex(2 * fee)}],
    )
    node.mined_receipt(legacy)
    yield call(node, "legacy transaction", "eth_getTransactionByHash", [legacy])
    yield call(node, "legacy receipt", "eth_getTransactionReceipt", [legacy])
    typed1 = node.result(
        "eth_sendTransaction",
        [
            {
                "from": ACCOUNT_0,
                "to": ACCOUNT_1,
                "value": "0x1",
                "gasPrice": hex(2 * fee),
                "accessList": [],
            }
        ],
    )
    node.mined_receipt(typed1)
    yield call(node, "EIP-2930 transaction", "eth_getTransactionByHash", [typed1])
    yield call(
        node,
        "eth_getTransactionCount pending",
        "eth_getTransactionCount",
        [ACCOUNT_0, "pending"],
        True,
    )


def envelopes(node: Node) -> Iterator[Observation]:
    """Notifications, batches and malformed requests, as anvil answers them."""
    chain_id = {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}
    notification = {"jsonrpc": "2.0", "method": "eth_chainId", "params": []}
    bodies: list[tuple[str, Any]] = [
        ("a notification", notification),
        ("a notification of an unknown method", {"jsonrpc": "2.0", "method": "eth_nope"}),
        ("a batch", [chain_id, {**chain_id, "id": 2}]),
        ("a batch with a notification", [notification, {**chain_id, "id": 3}]),
        ("a batch of notifications", [notification, notification]),
        ("an empty batch", []),
        ("a batch with a number in it", [chain_id, 1]),
        ("a batch with an unknown method", [chain_id, {**chain_id, "id": 2, "method": "eth_nope"}]),
        ("a batch with a bad request", [chain_id, {"id": 2}]),
        ("no jsonrpc member", {"id": 1, "method": "eth_chainId"}),
        ("jsonrpc 1.0", {"jsonrpc": "1.0", "id": 4, "method": "eth_chainId"}),
        ("a string id", {**chain_id, "id": "abc"}),
        ("a null id", {**chain_id, "id": None}),
        ("a fractional id", {**chain_id, "id": 1.5}),
        ("an object id", {**chain_id, "id": {"a": 1}}),
        ("a numeric method", {"jsonrpc": "2.0", "id": 5, "method": 5}),
        ("no params", {"jsonrpc": "2.0", "id": 6, "method": "eth_chainId"}),
        ("null params", {**chain_id, "params": None}),
        ("object params", {**chain_id, "params": {}}),
        ("a string body", "abc"),
        ("a number body", 5),
    ]
    for label, body in bodies:
        yield Observation(label, node.post(body))


SCENARIO: tuple[Step, ...] = (
    node_and_network,
    accounts_and_signing,
    deployments,
    filters_and_logs,
    blocks,
    calls_and_gas,
    state_and_proofs,
    fees,
    transactions,
    envelopes,
)

// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title DataSettlement: on-chain evidence of what a TEE was asked and answered, one record per call.
/// @notice Every paid call has a `callId` (bytes32, assigned by the gateway, unique per call) and
///         leaves exactly one record, found with a stock JSON-RPC client from that id alone:
///         - private: a `CallRecorded` event (hashes only: no model, no content), many per tx;
///         - batch: a `BatchLeaf` event in the transaction that posts the Merkle root of its batch;
///           the contract recomputes the root from the leaves, so every `BatchLeaf` is provably
///           part of the root it names;
///         - individual: one `settleIndividual` transaction per call whose calldata carries the
///           model id, the input and the output as UTF-8; the output hash in its
///           `IndividualSettled` event is computed here from the output text, so the two cannot
///           disagree.
///         Only the devnet operator posts.
/// @dev Placed in genesis with no constructor; `operator` is set in storage.
contract DataSettlement {
    struct Batch {
        uint256 count;
        uint256 timestamp;
    }

    /// @notice One private-mode call: what the TEE signed, as hashes.
    struct CallRecord {
        bytes32 callId;
        bytes32 teeId;
        bytes32 requestHash;
        bytes32 outputHash;
        uint256 teeTimestamp;
        bytes32 signatureHash;
    }

    /// @notice One individual-mode call, in full.
    struct IndividualCall {
        bytes32 callId;
        string model;
        string input;
        string output;
        uint256 promptTokens;
        uint256 completionTokens;
        bytes32 teeId;
        bytes32 requestHash;
        uint256 teeTimestamp;
        bytes teeSignature;
    }

    address public operator;
    mapping(bytes32 => Batch) public batchRoots;
    uint256 public batchCount;
    uint256 public individualCount;
    uint256 public recordCount;

    event CallRecorded(
        bytes32 indexed callId,
        bytes32 indexed teeId,
        bytes32 requestHash,
        bytes32 outputHash,
        uint256 teeTimestamp,
        bytes32 signatureHash
    );
    event BatchLeaf(bytes32 indexed callId, bytes32 indexed root, bytes32 leaf, uint256 index);
    event BatchSettled(bytes32 indexed merkleRoot, uint256 count, uint256 timestamp);
    event IndividualSettled(
        bytes32 indexed callId,
        bytes32 indexed teeId,
        bytes32 indexed requestHash,
        bytes32 outputHash,
        string model,
        uint256 promptTokens,
        uint256 completionTokens,
        uint256 teeTimestamp,
        bytes teeSignature
    );

    error NotOperator();
    error RootAlreadyPosted(bytes32 root);
    error EmptyBatch();
    error LengthMismatch(uint256 callIds, uint256 leaves);
    error RootMismatch(bytes32 given, bytes32 computed);

    modifier onlyOperator() {
        if (msg.sender != operator) revert NotOperator();
        _;
    }

    /// @notice Private mode: one `CallRecorded` event per call, posted in batches.
    function recordCalls(CallRecord[] calldata records) external onlyOperator {
        if (records.length == 0) revert EmptyBatch();
        for (uint256 i = 0; i < records.length; i++) {
            CallRecord calldata r = records[i];
            emit CallRecorded(r.callId, r.teeId, r.requestHash, r.outputHash, r.teeTimestamp, r.signatureHash);
        }
        recordCount += records.length;
    }

    /// @notice Batch mode: post the Merkle root of `leaves` (sorted-pair tree, an unpaired node is
    ///         carried up) with one `BatchLeaf` event per call. Reverts unless the root is the
    ///         leaves' root.
    function postBatchRoot(bytes32 root, bytes32[] calldata callIds, bytes32[] calldata leaves)
        external
        onlyOperator
    {
        uint256 count = leaves.length;
        if (count == 0) revert EmptyBatch();
        if (callIds.length != count) revert LengthMismatch(callIds.length, count);
        if (batchRoots[root].timestamp != 0) revert RootAlreadyPosted(root);
        bytes32 computed = _root(leaves);
        if (computed != root) revert RootMismatch(root, computed);
        for (uint256 i = 0; i < count; i++) {
            emit BatchLeaf(callIds[i], root, leaves[i], i);
        }
        batchRoots[root] = Batch(count, block.timestamp);
        batchCount++;
        emit BatchSettled(root, count, block.timestamp);
    }

    /// @notice Individual mode: the whole call in this transaction's calldata (one struct, so the
    ///         many fields fit the EVM's stack). `input` is the canonical request the TEE signed,
    ///         as UTF-8 JSON (it holds the messages); the TEE's request hash is keccak256 of its
    ///         ASCII-escaped form (`json.dumps(sort_keys=True)`), which a verifier recomputes
    ///         off-chain. `output` is the answer text exactly as signed: its keccak256, computed
    ///         here, is the output hash.
    function settleIndividual(IndividualCall calldata call) external onlyOperator {
        individualCount++;
        emit IndividualSettled(
            call.callId,
            call.teeId,
            call.requestHash,
            keccak256(bytes(call.output)),
            call.model,
            call.promptTokens,
            call.completionTokens,
            call.teeTimestamp,
            call.teeSignature
        );
    }

    function _root(bytes32[] calldata leaves) private pure returns (bytes32) {
        bytes32[] memory level = leaves;
        uint256 n = level.length;
        while (n > 1) {
            uint256 m = 0;
            for (uint256 i = 0; i + 1 < n; i += 2) {
                level[m++] = _hashPair(level[i], level[i + 1]);
            }
            if (n % 2 == 1) level[m++] = level[n - 1];
            n = m;
        }
        return level[0];
    }

    function _hashPair(bytes32 a, bytes32 b) private pure returns (bytes32) {
        return a <= b ? keccak256(abi.encodePacked(a, b)) : keccak256(abi.encodePacked(b, a));
    }
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title DataSettlement: on-chain evidence of what a TEE was asked and answered.
/// @notice Individual mode posts one call's metadata per transaction; batch mode posts the Merkle
///         root of many calls' leaves. `batchRoots(root)` lets a verifier check a proof's root
///         is on-chain. Only the devnet operator posts.
/// @dev Placed in genesis with no constructor; `operator` is set in storage.
contract DataSettlement {
    struct Batch {
        uint256 count;
        uint256 timestamp;
    }

    address public operator;
    mapping(bytes32 => Batch) public batchRoots;
    uint256 public batchCount;
    uint256 public individualCount;

    event BatchSettled(bytes32 indexed merkleRoot, uint256 count, uint256 timestamp);
    event IndividualSettled(
        bytes32 indexed teeId,
        bytes32 indexed requestHash,
        bytes32 indexed outputHash,
        bytes32 signatureHash,
        uint256 teeTimestamp,
        bytes teeSignature
    );

    error NotOperator();
    error RootAlreadyPosted(bytes32 root);
    error EmptyBatch();

    modifier onlyOperator() {
        if (msg.sender != operator) revert NotOperator();
        _;
    }

    function settleIndividual(
        bytes32 teeId,
        bytes32 requestHash,
        bytes32 outputHash,
        bytes calldata teeSignature,
        uint256 teeTimestamp
    ) external onlyOperator {
        individualCount++;
        emit IndividualSettled(teeId, requestHash, outputHash, keccak256(teeSignature), teeTimestamp, teeSignature);
    }

    function postBatchRoot(bytes32 root, uint256 count) external onlyOperator {
        if (count == 0) revert EmptyBatch();
        if (batchRoots[root].timestamp != 0) revert RootAlreadyPosted(root);
        batchRoots[root] = Batch(count, block.timestamp);
        batchCount++;
        emit BatchSettled(root, count, block.timestamp);
    }
}

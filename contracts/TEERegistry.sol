// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title TEERegistry: the devnet's list of TEE gateways.
/// @notice `getActiveTEEs(uint8)` returns the same tuple layout as OpenGradient's live registry,
///         so the official SDK's decoder reads it unchanged. A TEE's id is keccak256(publicKey),
///         where publicKey is the DER SubjectPublicKeyInfo of the enclave's signing key.
/// @dev Placed in genesis with no constructor; `owner` (the devnet operator) is set in storage.
contract TEERegistry {
    struct OHTTPConfig {
        uint8 keyId;
        uint16 kemId;
        uint16 kdfId;
        uint16 aeadId;
        bytes publicKey;
        bytes keyConfig;
        uint256 registeredAt;
    }

    struct TEEInfo {
        address owner;
        address paymentAddress;
        string endpoint;
        bytes publicKey;
        bytes tlsCertificate;
        bytes32 pcrHash;
        uint8 teeType;
        bool enabled;
        uint256 registeredAt;
        uint256 lastHeartbeatAt;
        OHTTPConfig ohttpConfig;
    }

    address public owner;
    bytes32[] private _ids;
    mapping(bytes32 => TEEInfo) private _tees;

    event TEERegistered(bytes32 indexed teeId, address indexed paymentAddress, uint8 teeType, string endpoint);
    event TEEEnabled(bytes32 indexed teeId, bool enabled);
    event Heartbeat(bytes32 indexed teeId, uint256 timestamp);

    error NotOwner();
    error UnknownTEE(bytes32 teeId);
    error EmptyPublicKey();

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner();
        _;
    }

    /// @notice Register (or re-register, replacing) a TEE. Returns its id.
    function registerTEE(
        address paymentAddress,
        string calldata endpoint,
        bytes calldata publicKey,
        bytes calldata tlsCertificate,
        bytes32 pcrHash,
        uint8 teeType
    ) external onlyOwner returns (bytes32 teeId) {
        if (publicKey.length == 0) revert EmptyPublicKey();
        teeId = keccak256(publicKey);
        TEEInfo storage info = _tees[teeId];
        if (info.registeredAt == 0) _ids.push(teeId);
        info.owner = msg.sender;
        info.paymentAddress = paymentAddress;
        info.endpoint = endpoint;
        info.publicKey = publicKey;
        info.tlsCertificate = tlsCertificate;
        info.pcrHash = pcrHash;
        info.teeType = teeType;
        info.enabled = true;
        info.registeredAt = block.timestamp;
        info.lastHeartbeatAt = block.timestamp;
        emit TEERegistered(teeId, paymentAddress, teeType, endpoint);
    }

    function setOHTTPConfig(
        bytes32 teeId,
        uint8 keyId,
        uint16 kemId,
        uint16 kdfId,
        uint16 aeadId,
        bytes calldata publicKey,
        bytes calldata keyConfig
    ) external onlyOwner {
        TEEInfo storage info = _known(teeId);
        info.ohttpConfig = OHTTPConfig(keyId, kemId, kdfId, aeadId, publicKey, keyConfig, block.timestamp);
    }

    function setEnabled(bytes32 teeId, bool enabled) external onlyOwner {
        _known(teeId).enabled = enabled;
        emit TEEEnabled(teeId, enabled);
    }

    function heartbeat(bytes32 teeId) external onlyOwner {
        _known(teeId).lastHeartbeatAt = block.timestamp;
        emit Heartbeat(teeId, block.timestamp);
    }

    function getTEE(bytes32 teeId) external view returns (TEEInfo memory) {
        return _known(teeId);
    }

    function getTEECount() external view returns (uint256) {
        return _ids.length;
    }

    /// @notice Enabled TEEs of one type, in registration order.
    function getActiveTEEs(uint8 teeType) external view returns (TEEInfo[] memory active) {
        uint256 n;
        for (uint256 i = 0; i < _ids.length; i++) {
            TEEInfo storage info = _tees[_ids[i]];
            if (info.enabled && info.teeType == teeType) n++;
        }
        active = new TEEInfo[](n);
        uint256 j;
        for (uint256 i = 0; i < _ids.length; i++) {
            TEEInfo storage info = _tees[_ids[i]];
            if (info.enabled && info.teeType == teeType) active[j++] = info;
        }
    }

    function _known(bytes32 teeId) private view returns (TEEInfo storage info) {
        info = _tees[teeId];
        if (info.registeredAt == 0) revert UnknownTEE(teeId);
    }
}

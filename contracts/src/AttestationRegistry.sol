// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {IssuerRegistry} from "./IssuerRegistry.sol";

/// @title AttestationRegistry
/// @notice Anchors certificate digests, one at a time or as Merkle batch roots, and keeps the revocation
/// and suspension status of individual certificates. Only digests are stored: no personal data.
/// @dev Leaves follow OpenZeppelin's StandardMerkleTree for values of type `bytes32`:
/// `leaf = keccak256(bytes.concat(keccak256(abi.encode(digest))))`, pairs hashed sorted. A single-digest
/// anchor is a one-leaf tree, so its root is the leaf itself and its proof is empty.
contract AttestationRegistry {
    enum Status {
        Unknown,
        Anchored,
        Revoked,
        Suspended
    }

    struct Anchor {
        bytes32 department;
        address issuer;
        uint8 kind;
        uint32 leafCount;
        uint64 anchoredAt;
        uint64 blockNumber;
    }

    struct CertificateState {
        Status status; // only Revoked or Suspended are stored; Unknown means "no per-certificate action"
        bytes32 root;
        uint16 reason;
        uint64 changedAt;
    }

    /// @notice The registry that says which keys may anchor which kinds.
    IssuerRegistry public immutable issuers;

    mapping(bytes32 root => Anchor) private _anchors;
    mapping(bytes32 digest => CertificateState) private _certificates;

    error AttestationRegistryNotAuthorized(address key, uint8 kind);
    error AttestationRegistryZeroRoot();
    error AttestationRegistryInvalidLeafCount(uint32 leafCount);
    error AttestationRegistryAlreadyAnchored(bytes32 root);
    error AttestationRegistryUnknownCertificate(bytes32 digest);
    error AttestationRegistryNotIssuingDepartment(address caller, bytes32 department);
    error AttestationRegistryAlreadyRevoked(bytes32 digest);
    error AttestationRegistryAlreadySuspended(bytes32 digest);
    error AttestationRegistryNotSuspended(bytes32 digest);

    event Anchored(
        bytes32 indexed root, bytes32 indexed department, address indexed issuer, uint8 kind, uint32 leafCount
    );
    event CertificateRevoked(bytes32 indexed digest, bytes32 indexed root, address indexed by, uint16 reason);
    event CertificateSuspended(bytes32 indexed digest, bytes32 indexed root, address indexed by, uint16 reason);
    event CertificateReinstated(bytes32 indexed digest, bytes32 indexed root, address indexed by);

    /// @param issuerRegistry The IssuerRegistry deployment.
    constructor(IssuerRegistry issuerRegistry) {
        issuers = issuerRegistry;
    }

    /// @notice Anchor the Merkle root of a batch of `leafCount` certificates of `kind`.
    /// @param root The StandardMerkleTree root.
    /// @param kind The attestation kind of every certificate in the batch.
    /// @param leafCount How many certificates the batch holds.
    function anchorRoot(bytes32 root, uint8 kind, uint32 leafCount) external {
        if (leafCount == 0) revert AttestationRegistryInvalidLeafCount(leafCount);
        _anchor(root, kind, leafCount);
    }

    /// @notice Anchor one certificate digest (a one-leaf tree; its proof is empty).
    /// @param digest The certificate's EIP-712 digest.
    /// @param kind The certificate's attestation kind.
    function anchorDigest(bytes32 digest, uint8 kind) external {
        _anchor(leafOf(digest), kind, 1);
    }

    /// @notice Revoke a certificate for good. Only a current key of the department that anchored it may.
    /// @param root The root of the batch holding the certificate.
    /// @param proof The certificate's Merkle proof in that batch.
    /// @param digest The certificate's digest.
    /// @param reason A reason code (see the service's reason table).
    function revoke(bytes32 root, bytes32[] calldata proof, bytes32 digest, uint16 reason) external {
        CertificateState storage c = _authorizeChange(root, proof, digest);
        if (c.status == Status.Revoked) revert AttestationRegistryAlreadyRevoked(digest);
        _setState(c, Status.Revoked, root, reason);
        emit CertificateRevoked(digest, root, msg.sender, reason);
    }

    /// @notice Suspend a certificate until it is reinstated. Only the issuing department may.
    /// @param root The root of the batch holding the certificate.
    /// @param proof The certificate's Merkle proof in that batch.
    /// @param digest The certificate's digest.
    /// @param reason A reason code.
    function suspend(bytes32 root, bytes32[] calldata proof, bytes32 digest, uint16 reason) external {
        CertificateState storage c = _authorizeChange(root, proof, digest);
        if (c.status == Status.Revoked) revert AttestationRegistryAlreadyRevoked(digest);
        if (c.status == Status.Suspended) revert AttestationRegistryAlreadySuspended(digest);
        _setState(c, Status.Suspended, root, reason);
        emit CertificateSuspended(digest, root, msg.sender, reason);
    }

    /// @notice Lift a suspension. Only the issuing department may.
    /// @param root The root of the batch holding the certificate.
    /// @param proof The certificate's Merkle proof in that batch.
    /// @param digest The certificate's digest.
    function reinstate(bytes32 root, bytes32[] calldata proof, bytes32 digest) external {
        CertificateState storage c = _authorizeChange(root, proof, digest);
        if (c.status != Status.Suspended) revert AttestationRegistryNotSuspended(digest);
        _setState(c, Status.Unknown, root, 0);
        emit CertificateReinstated(digest, root, msg.sender);
    }

    /// @notice A certificate's status from its batch root, proof and digest: Unknown when the root was
    /// never anchored or the proof does not hold, else Revoked, Suspended or Anchored.
    /// @param root The batch root.
    /// @param proof The certificate's Merkle proof.
    /// @param digest The certificate's digest.
    function status(bytes32 root, bytes32[] calldata proof, bytes32 digest) external view returns (Status) {
        if (_anchors[root].anchoredAt == 0) return Status.Unknown;
        if (!MerkleProof.verifyCalldata(proof, root, leafOf(digest))) return Status.Unknown;
        Status s = _certificates[digest].status;
        return s == Status.Unknown ? Status.Anchored : s;
    }

    /// @notice A batch anchor's record (all zero if `root` was never anchored).
    /// @param root The batch root.
    function anchorOf(bytes32 root) external view returns (Anchor memory) {
        return _anchors[root];
    }

    /// @notice The revocation or suspension recorded for a digest, if any.
    /// @param digest The certificate's digest.
    function certificateState(bytes32 digest) external view returns (CertificateState memory) {
        return _certificates[digest];
    }

    /// @notice The StandardMerkleTree leaf of a `bytes32` value.
    /// @param digest The certificate's digest.
    function leafOf(bytes32 digest) public pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(digest))));
    }

    function _anchor(bytes32 root, uint8 kind, uint32 leafCount) private {
        if (root == bytes32(0)) revert AttestationRegistryZeroRoot();
        if (!issuers.isAuthorized(msg.sender, kind, uint64(block.timestamp))) {
            revert AttestationRegistryNotAuthorized(msg.sender, kind);
        }
        if (_anchors[root].anchoredAt != 0) revert AttestationRegistryAlreadyAnchored(root);
        bytes32 department = issuers.departmentOf(msg.sender);
        _anchors[root] = Anchor({
            department: department,
            issuer: msg.sender,
            kind: kind,
            leafCount: leafCount,
            anchoredAt: uint64(block.timestamp),
            blockNumber: uint64(block.number)
        });
        emit Anchored(root, department, msg.sender, kind, leafCount);
    }

    function _authorizeChange(bytes32 root, bytes32[] calldata proof, bytes32 digest)
        private
        view
        returns (CertificateState storage)
    {
        Anchor storage a = _anchors[root];
        if (a.anchoredAt == 0 || !MerkleProof.verifyCalldata(proof, root, leafOf(digest))) {
            revert AttestationRegistryUnknownCertificate(digest);
        }
        if (!issuers.isActiveKey(msg.sender) || issuers.departmentOf(msg.sender) != a.department) {
            revert AttestationRegistryNotIssuingDepartment(msg.sender, a.department);
        }
        return _certificates[digest];
    }

    function _setState(CertificateState storage c, Status s, bytes32 root, uint16 reason) private {
        c.status = s;
        c.root = root;
        c.reason = reason;
        c.changedAt = uint64(block.timestamp);
    }
}

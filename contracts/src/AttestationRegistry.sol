// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {IssuerRegistry} from "./IssuerRegistry.sol";

/// @title AttestationRegistry
/// @notice Anchors certificate digests, one at a time or as Merkle batch roots, and keeps the revocation
/// and suspension status of individual certificates. Only digests are stored: no personal data.
/// @dev A certificate belongs to the department that anchored it: status is kept per (department, digest),
/// so a status change made through one department's root can never change what a root of another
/// department verifies as. One storage slot per root; what the events can carry (the issuing key, the
/// batch's block), the events carry.
/// Leaves follow OpenZeppelin's StandardMerkleTree for values of type `bytes32`:
/// `leaf = keccak256(bytes.concat(keccak256(abi.encode(digest))))`, pairs hashed sorted. A single-digest
/// anchor is a one-leaf tree, so its root is the leaf itself and its proof is empty.
contract AttestationRegistry {
    enum Status {
        Unknown,
        Anchored,
        Revoked,
        Suspended
    }

    /// @dev One slot: 32 + 8 + 32 + 64 + 64 + 32 bits.
    struct Anchor {
        uint32 department; // IssuerRegistry department index; 0 = never anchored
        uint8 kind;
        uint32 leafCount;
        uint64 anchoredAt;
        uint64 blockNumber;
        uint32 schema; // IssuerRegistry schema number of a batch of attestations (kind ATTESTATION); else 0
    }

    /// @dev One slot. Only Revoked or Suspended are stored; Unknown means "no per-certificate action".
    struct CertificateState {
        Status status;
        uint16 reason;
        uint64 changedAt;
    }

    /// @notice The registry that says which keys may anchor which kinds.
    IssuerRegistry public immutable issuers;

    mapping(bytes32 root => Anchor) private _anchors;
    mapping(uint32 department => mapping(bytes32 digest => CertificateState)) private _certificates;

    error AttestationRegistryNotAuthorized(address key, uint8 kind);
    error AttestationRegistryNotAuthorizedForSchema(address key, uint32 schema);
    error AttestationRegistryZeroRoot();
    error AttestationRegistryInvalidLeafCount(uint32 leafCount);
    error AttestationRegistryAlreadyAnchored(bytes32 root);
    error AttestationRegistryUnknownCertificate(bytes32 digest);
    error AttestationRegistryNotIssuingDepartment(address caller, bytes32 department);
    error AttestationRegistryAlreadyRevoked(bytes32 digest);
    error AttestationRegistryAlreadySuspended(bytes32 digest);
    error AttestationRegistryNotSuspended(bytes32 digest);

    event Anchored(bytes32 indexed root, uint32 indexed department, address indexed issuer, uint8 kind,
        uint32 leafCount);
    event SchemaRootAnchored(bytes32 indexed root, uint32 indexed schema);
    event CertificateRevoked(bytes32 indexed digest, uint32 indexed department, address by, bytes32 root,
        uint16 reason);
    event CertificateSuspended(bytes32 indexed digest, uint32 indexed department, address by, bytes32 root,
        uint16 reason);
    event CertificateReinstated(bytes32 indexed digest, uint32 indexed department, address by, bytes32 root);

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

    /// @notice Anchor the Merkle root of a batch of `leafCount` attestations of one registered schema. Only a
    /// current key of the schema's department holding the ATTESTATION kind may.
    /// @param root The StandardMerkleTree root.
    /// @param schema The IssuerRegistry schema number of every attestation in the batch.
    /// @param leafCount How many attestations the batch holds.
    function anchorSchemaRoot(bytes32 root, uint32 schema, uint32 leafCount) external {
        if (leafCount == 0) revert AttestationRegistryInvalidLeafCount(leafCount);
        uint32 department = issuers.schemaIssuer(msg.sender, schema);
        if (department == 0) revert AttestationRegistryNotAuthorizedForSchema(msg.sender, schema);
        _store(root, department, issuers.ATTESTATION_KIND(), leafCount, schema);
        emit SchemaRootAnchored(root, schema);
    }

    /// @notice Anchor one certificate digest (a one-leaf tree; its proof is empty).
    /// @param digest The certificate's EIP-712 digest.
    /// @param kind The certificate's attestation kind.
    function anchorDigest(bytes32 digest, uint8 kind) external {
        _anchor(leafOf(digest), kind, 1);
    }

    /// @notice Revoke a certificate for good. Only a current key of the department that anchored `root` may,
    /// and only that department's view of the certificate changes.
    /// @param root The root of the batch holding the certificate.
    /// @param proof The certificate's Merkle proof in that batch.
    /// @param digest The certificate's digest.
    /// @param reason A reason code (see the service's reason table).
    function revoke(bytes32 root, bytes32[] calldata proof, bytes32 digest, uint16 reason) external {
        (CertificateState storage c, uint32 department) = _authorizeChange(root, proof, digest);
        if (c.status == Status.Revoked) revert AttestationRegistryAlreadyRevoked(digest);
        _setState(c, Status.Revoked, reason);
        emit CertificateRevoked(digest, department, msg.sender, root, reason);
    }

    /// @notice Suspend a certificate until it is reinstated. Only the department that anchored it may.
    /// @param root The root of the batch holding the certificate.
    /// @param proof The certificate's Merkle proof in that batch.
    /// @param digest The certificate's digest.
    /// @param reason A reason code.
    function suspend(bytes32 root, bytes32[] calldata proof, bytes32 digest, uint16 reason) external {
        (CertificateState storage c, uint32 department) = _authorizeChange(root, proof, digest);
        if (c.status == Status.Revoked) revert AttestationRegistryAlreadyRevoked(digest);
        if (c.status == Status.Suspended) revert AttestationRegistryAlreadySuspended(digest);
        _setState(c, Status.Suspended, reason);
        emit CertificateSuspended(digest, department, msg.sender, root, reason);
    }

    /// @notice Lift a suspension. Only the department that anchored the certificate may.
    /// @param root The root of the batch holding the certificate.
    /// @param proof The certificate's Merkle proof in that batch.
    /// @param digest The certificate's digest.
    function reinstate(bytes32 root, bytes32[] calldata proof, bytes32 digest) external {
        (CertificateState storage c, uint32 department) = _authorizeChange(root, proof, digest);
        if (c.status != Status.Suspended) revert AttestationRegistryNotSuspended(digest);
        _setState(c, Status.Unknown, 0);
        emit CertificateReinstated(digest, department, msg.sender, root);
    }

    /// @notice A certificate's status from its batch root, proof and digest: Unknown when the root was
    /// never anchored or the proof does not hold, else the anchoring department's Revoked, Suspended or
    /// Anchored.
    /// @param root The batch root.
    /// @param proof The certificate's Merkle proof.
    /// @param digest The certificate's digest.
    function status(bytes32 root, bytes32[] calldata proof, bytes32 digest) external view returns (Status) {
        uint32 department = _anchors[root].department;
        if (department == 0) return Status.Unknown;
        if (!MerkleProof.verifyCalldata(proof, root, leafOf(digest))) return Status.Unknown;
        Status s = _certificates[department][digest].status;
        return s == Status.Unknown ? Status.Anchored : s;
    }

    /// @notice A batch anchor's record (all zero if `root` was never anchored).
    /// @param root The batch root.
    /// @return department The anchoring department's identifier.
    /// @return kind The batch's attestation kind.
    /// @return leafCount How many certificates the batch holds.
    /// @return anchoredAt The anchoring block's timestamp.
    /// @return blockNumber The anchoring block.
    function anchorOf(bytes32 root)
        external
        view
        returns (bytes32 department, uint8 kind, uint32 leafCount, uint64 anchoredAt, uint64 blockNumber)
    {
        Anchor storage a = _anchors[root];
        department = a.department == 0 ? bytes32(0) : issuers.departmentAt(a.department);
        return (department, a.kind, a.leafCount, a.anchoredAt, a.blockNumber);
    }

    /// @notice The schema number of an attestation batch (0 for a batch of a built-in kind or an unknown root).
    /// @param root The batch root.
    function schemaOf(bytes32 root) external view returns (uint32) {
        return _anchors[root].schema;
    }

    /// @notice The revocation or suspension a department recorded for a digest, if any.
    /// @param department The department's identifier.
    /// @param digest The certificate's digest.
    function certificateState(bytes32 department, bytes32 digest) external view returns (CertificateState memory) {
        (, uint32 index,,,) = issuers.departmentInfo(department);
        return _certificates[index][digest];
    }

    /// @notice The StandardMerkleTree leaf of a `bytes32` value.
    /// @param digest The certificate's digest.
    function leafOf(bytes32 digest) public pure returns (bytes32 leaf) {
        // keccak256(bytes.concat(keccak256(abi.encode(digest)))), in scratch space.
        assembly ("memory-safe") {
            mstore(0x00, digest)
            mstore(0x00, keccak256(0x00, 0x20))
            leaf := keccak256(0x00, 0x20)
        }
    }

    function _anchor(bytes32 root, uint8 kind, uint32 leafCount) private {
        uint32 department = issuers.authorizedDepartment(msg.sender, kind);
        if (department == 0) revert AttestationRegistryNotAuthorized(msg.sender, kind);
        _store(root, department, kind, leafCount, 0);
    }

    function _store(bytes32 root, uint32 department, uint8 kind, uint32 leafCount, uint32 schema) private {
        if (root == bytes32(0)) revert AttestationRegistryZeroRoot();
        Anchor storage a = _anchors[root];
        if (a.department != 0) revert AttestationRegistryAlreadyAnchored(root);
        _anchors[root] = Anchor({
            department: department,
            kind: kind,
            leafCount: leafCount,
            anchoredAt: uint64(block.timestamp),
            blockNumber: uint64(block.number),
            schema: schema
        });
        emit Anchored(root, department, msg.sender, kind, leafCount);
    }

    function _authorizeChange(bytes32 root, bytes32[] calldata proof, bytes32 digest)
        private
        view
        returns (CertificateState storage, uint32)
    {
        uint32 department = _anchors[root].department;
        if (department == 0 || !MerkleProof.verifyCalldata(proof, root, leafOf(digest))) {
            revert AttestationRegistryUnknownCertificate(digest);
        }
        if (issuers.activeDepartment(msg.sender) != department) {
            revert AttestationRegistryNotIssuingDepartment(msg.sender, issuers.departmentAt(department));
        }
        return (_certificates[department][digest], department);
    }

    function _setState(CertificateState storage c, Status s, uint16 reason) private {
        c.status = s;
        c.reason = reason;
        c.changedAt = uint64(block.timestamp);
    }
}

// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IssuerRegistry} from "./IssuerRegistry.sol";

/// @title CreditRegistry
/// @notice Per subject commitment, an append-only hash chain of credit-record digests, the current credit
/// grade (A/B/C/D) and the red and black list flags. Subjects are keyed commitments, never identifiers.
/// @dev The chain head after appending `d` to head `h` is `keccak256(abi.encode(h, d))`, starting from
/// zero. Writers pass the head they expect, so two departments writing at once cannot interleave
/// unnoticed and a retried transaction cannot append the same record twice.
contract CreditRegistry {
    /// @notice The attestation kind (bit position in IssuerRegistry) that allows writing here.
    uint8 public constant CREDIT_RECORD = 2;

    enum Grade {
        None,
        A,
        B,
        C,
        D
    }

    struct Standing {
        bytes32 head;
        uint64 length;
        Grade grade;
        bool redListed;
        uint64 blackListStart;
        uint64 blackListEnd;
    }

    /// @notice The registry that says which keys may write credit records.
    IssuerRegistry public immutable issuers;

    mapping(bytes32 subject => Standing) private _standings;

    error CreditRegistryNotAuthorized(address key);
    error CreditRegistryZeroDigest();
    error CreditRegistryStaleHead(bytes32 subject, bytes32 expected, bytes32 actual);
    error CreditRegistryInvalidGrade(uint8 grade);
    error CreditRegistryInvalidWindow(uint64 start, uint64 end);

    event RecordAppended(
        bytes32 indexed subject,
        bytes32 indexed recordDigest,
        bytes32 previousHead,
        bytes32 newHead,
        uint64 index,
        bytes32 department
    );
    event GradeChanged(bytes32 indexed subject, Grade previousGrade, Grade newGrade, bytes32 basis);
    event RedListChanged(bytes32 indexed subject, bool listed, bytes32 basis);
    event BlackListChanged(bytes32 indexed subject, uint64 start, uint64 end, bytes32 basis);

    modifier onlyCreditWriter() {
        if (!issuers.isAuthorized(msg.sender, CREDIT_RECORD, uint64(block.timestamp))) {
            revert CreditRegistryNotAuthorized(msg.sender);
        }
        _;
    }

    /// @param issuerRegistry The IssuerRegistry deployment.
    constructor(IssuerRegistry issuerRegistry) {
        issuers = issuerRegistry;
    }

    /// @notice Append a credit-record digest to a subject's chain.
    /// @param subject The subject's keyed commitment.
    /// @param recordDigest The record's digest.
    /// @param expectedHead The chain head the writer saw (zero for a new subject).
    function appendRecord(bytes32 subject, bytes32 recordDigest, bytes32 expectedHead) external onlyCreditWriter {
        if (recordDigest == bytes32(0)) revert CreditRegistryZeroDigest();
        Standing storage s = _standings[subject];
        bytes32 previous = s.head;
        if (previous != expectedHead) revert CreditRegistryStaleHead(subject, expectedHead, previous);
        bytes32 next = chainHead(previous, recordDigest);
        s.head = next;
        uint64 index = s.length;
        s.length = index + 1;
        emit RecordAppended(subject, recordDigest, previous, next, index, issuers.departmentOf(msg.sender));
    }

    /// @notice Set a subject's credit grade (1 = A ... 4 = D).
    /// @param subject The subject's keyed commitment.
    /// @param grade The new grade.
    /// @param basis Digest of the grading explanation (rule version and records considered).
    function setGrade(bytes32 subject, uint8 grade, bytes32 basis) external onlyCreditWriter {
        if (grade < uint8(Grade.A) || grade > uint8(Grade.D)) revert CreditRegistryInvalidGrade(grade);
        Standing storage s = _standings[subject];
        Grade previous = s.grade;
        s.grade = Grade(grade);
        emit GradeChanged(subject, previous, Grade(grade), basis);
    }

    /// @notice Put a subject on the red (commendation) list or take it off.
    /// @param subject The subject's keyed commitment.
    /// @param listed Whether the subject is on the red list.
    /// @param basis Digest of the decision.
    function setRedList(bytes32 subject, bool listed, bytes32 basis) external onlyCreditWriter {
        _standings[subject].redListed = listed;
        emit RedListChanged(subject, listed, basis);
    }

    /// @notice Set a subject's black-list window; `start == end == 0` clears it.
    /// @param subject The subject's keyed commitment.
    /// @param start First second on the list.
    /// @param end First second off the list (must follow `start`).
    /// @param basis Digest of the decision.
    function setBlackList(bytes32 subject, uint64 start, uint64 end, bytes32 basis) external onlyCreditWriter {
        if (!(start == 0 && end == 0) && end <= start) revert CreditRegistryInvalidWindow(start, end);
        Standing storage s = _standings[subject];
        s.blackListStart = start;
        s.blackListEnd = end;
        emit BlackListChanged(subject, start, end, basis);
    }

    /// @notice A subject's chain head, record count, grade and list flags.
    /// @param subject The subject's keyed commitment.
    function standing(bytes32 subject) external view returns (Standing memory) {
        return _standings[subject];
    }

    /// @notice Whether a subject is on the black list at `timestamp`.
    /// @param subject The subject's keyed commitment.
    /// @param timestamp The unix time to ask about.
    function isBlackListed(bytes32 subject, uint64 timestamp) external view returns (bool) {
        Standing storage s = _standings[subject];
        return s.blackListEnd != 0 && timestamp >= s.blackListStart && timestamp < s.blackListEnd;
    }

    /// @notice The head that follows `previousHead` when `recordDigest` is appended.
    /// @param previousHead The current head.
    /// @param recordDigest The appended record's digest.
    function chainHead(bytes32 previousHead, bytes32 recordDigest) public pure returns (bytes32) {
        return keccak256(abi.encode(previousHead, recordDigest));
    }
}

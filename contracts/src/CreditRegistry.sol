// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IssuerRegistry} from "./IssuerRegistry.sol";

/// @title CreditRegistry
/// @notice Per subject commitment, an append-only hash chain of credit-record digests, the current credit
/// grade (A/B/C/D) and the red and black list entries. Subjects are keyed commitments, never identifiers.
/// @dev The chain head after appending `d` to head `h` is `keccak256(abi.encode(h, d))`, starting from
/// zero. Writers pass the head they expect, so two departments writing at once cannot interleave
/// unnoticed and a retried transaction cannot append the same record twice.
/// Every write names a scope (a record category, the grade, a list); a department writes only the scopes
/// the district admitted it for (IssuerRegistry `creditScopes`). A list entry belongs to the department
/// that made it: only that department changes or ends it. Every event records the writing key.
contract CreditRegistry {
    /// @notice The attestation kind (bit position in IssuerRegistry) a key needs to write here.
    uint8 public constant CREDIT_RECORD = 2;
    /// @notice The scope of grade writes.
    uint8 public constant SCOPE_GRADE = 16;
    /// @notice The scope of red (commendation) list entries.
    uint8 public constant SCOPE_RED_LIST = 17;
    /// @notice The scope of black (serious-dishonesty) list entries.
    uint8 public constant SCOPE_BLACK_LIST = 18;

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
        uint32 redListOwner; // department index of the red entry, 0 if none
        uint32 blackListOwner; // department index of the black entry, 0 if none
        uint64 blackListStart;
        uint64 blackListEnd;
    }

    /// @notice The registry that says which keys may write credit records.
    IssuerRegistry public immutable issuers;

    mapping(bytes32 subject => Standing) private _standings;

    error CreditRegistryNotAuthorized(address key, uint8 scope);
    error CreditRegistryZeroDigest();
    error CreditRegistryInvalidScope(uint8 scope);
    error CreditRegistryStaleHead(bytes32 subject, bytes32 expected, bytes32 actual);
    error CreditRegistryInvalidGrade(uint8 grade);
    error CreditRegistryLengthMismatch(uint256 subjects, uint256 grades, uint256 bases);
    error CreditRegistryInvalidWindow(uint64 start, uint64 end);
    error CreditRegistryListEntryOwned(bytes32 subject, bytes32 owner);

    event RecordAppended(
        bytes32 indexed subject,
        bytes32 indexed recordDigest,
        bytes32 previousHead,
        bytes32 newHead,
        uint64 index,
        bytes32 department,
        address indexed writer,
        uint8 scope
    );
    event GradeChanged(bytes32 indexed subject, Grade previousGrade, Grade newGrade, bytes32 basis,
        bytes32 department, address indexed writer);
    event RedListChanged(bytes32 indexed subject, bool listed, bytes32 basis, bytes32 department,
        address indexed writer);
    event BlackListChanged(bytes32 indexed subject, uint64 start, uint64 end, bytes32 basis, bytes32 department,
        address indexed writer);

    /// @param issuerRegistry The IssuerRegistry deployment.
    constructor(IssuerRegistry issuerRegistry) {
        issuers = issuerRegistry;
    }

    /// @notice Append a credit-record digest to a subject's chain.
    /// @param subject The subject's keyed commitment.
    /// @param recordDigest The record's digest.
    /// @param expectedHead The chain head the writer saw (zero for a new subject).
    /// @param scope The record's category (bit position below 16; `ledger.kinds.CreditScope`).
    function appendRecord(bytes32 subject, bytes32 recordDigest, bytes32 expectedHead, uint8 scope) external {
        if (scope >= SCOPE_GRADE && scope != SCOPE_RED_LIST && scope != SCOPE_BLACK_LIST) {
            revert CreditRegistryInvalidScope(scope);
        }
        uint32 department = _writer(scope);
        if (recordDigest == bytes32(0)) revert CreditRegistryZeroDigest();
        Standing storage s = _standings[subject];
        bytes32 previous = s.head;
        if (previous != expectedHead) revert CreditRegistryStaleHead(subject, expectedHead, previous);
        bytes32 next = chainHead(previous, recordDigest);
        s.head = next;
        uint64 index = s.length;
        s.length = index + 1;
        emit RecordAppended(
            subject, recordDigest, previous, next, index, issuers.departmentAt(department), msg.sender, scope
        );
    }

    /// @notice Set a subject's credit grade (1 = A ... 4 = D). Needs the grade scope.
    /// @param subject The subject's keyed commitment.
    /// @param grade The new grade.
    /// @param basis Digest of the grading explanation (rule version and records considered).
    function setGrade(bytes32 subject, uint8 grade, bytes32 basis) external {
        _setGrade(subject, grade, basis, issuers.departmentAt(_writer(SCOPE_GRADE)));
    }

    /// @notice Set several subjects' grades in one transaction (a day's regrading changes many). Needs the grade
    /// scope; all or nothing: one invalid grade reverts the whole call.
    /// @param subjects The subjects' keyed commitments.
    /// @param grades Their new grades (1 = A ... 4 = D), in the same order.
    /// @param bases The digests of their grading explanations, in the same order.
    function setGrades(bytes32[] calldata subjects, uint8[] calldata grades, bytes32[] calldata bases) external {
        bytes32 department = issuers.departmentAt(_writer(SCOPE_GRADE));
        uint256 n = subjects.length;
        if (grades.length != n || bases.length != n) {
            revert CreditRegistryLengthMismatch(n, grades.length, bases.length);
        }
        for (uint256 i = 0; i < n; ++i) {
            _setGrade(subjects[i], grades[i], bases[i], department);
        }
    }

    function _setGrade(bytes32 subject, uint8 grade, bytes32 basis, bytes32 department) private {
        if (grade < uint8(Grade.A) || grade > uint8(Grade.D)) revert CreditRegistryInvalidGrade(grade);
        Standing storage s = _standings[subject];
        Grade previous = s.grade;
        s.grade = Grade(grade);
        emit GradeChanged(subject, previous, Grade(grade), basis, department, msg.sender);
    }

    /// @notice Put a subject on the red (commendation) list or take it off. A listing belongs to the
    /// department that made it: only that department takes it off.
    /// @param subject The subject's keyed commitment.
    /// @param listed Whether the subject is on the red list.
    /// @param basis Digest of the decision.
    function setRedList(bytes32 subject, bool listed, bytes32 basis) external {
        uint32 department = _writer(SCOPE_RED_LIST);
        Standing storage s = _standings[subject];
        if (s.redListOwner != 0 && s.redListOwner != department) {
            revert CreditRegistryListEntryOwned(subject, issuers.departmentAt(s.redListOwner));
        }
        s.redListed = listed;
        s.redListOwner = listed ? department : 0;
        emit RedListChanged(subject, listed, basis, issuers.departmentAt(department), msg.sender);
    }

    /// @notice Set a subject's black-list window; `start == end == 0` clears it. An entry belongs to the
    /// department that made it until it ends: only that department changes or clears it before then.
    /// @param subject The subject's keyed commitment.
    /// @param start First second on the list.
    /// @param end First second off the list (must follow `start`).
    /// @param basis Digest of the decision.
    function setBlackList(bytes32 subject, uint64 start, uint64 end, bytes32 basis) external {
        uint32 department = _writer(SCOPE_BLACK_LIST);
        bool clearing = start == 0 && end == 0;
        if (!clearing && end <= start) revert CreditRegistryInvalidWindow(start, end);
        Standing storage s = _standings[subject];
        uint32 owner = s.blackListOwner;
        if (owner != 0 && owner != department && block.timestamp < s.blackListEnd) {
            revert CreditRegistryListEntryOwned(subject, issuers.departmentAt(owner));
        }
        s.blackListStart = start;
        s.blackListEnd = end;
        s.blackListOwner = clearing ? 0 : department;
        emit BlackListChanged(subject, start, end, basis, issuers.departmentAt(department), msg.sender);
    }

    /// @notice A subject's chain head, record count, grade and list entries.
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

    function _writer(uint8 scope) private view returns (uint32 department) {
        department = issuers.creditWriter(msg.sender, CREDIT_RECORD, scope);
        if (department == 0) revert CreditRegistryNotAuthorized(msg.sender, scope);
    }
}

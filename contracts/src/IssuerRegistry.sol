// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IssuerRegistry
/// @notice The permissioned core of ZeroErrand Ledger: k of n district administrators admit departments,
/// register each department's signing keys with the attestation kinds they may sign, and name inspectors.
/// Every other contract asks this one who may write.
/// @dev Administration follows Safe's owner-management pattern: every administrative function is callable
/// only by the registry itself (`onlySelf`, Safe's `authorized`), and the registry calls itself once
/// `threshold` of the administrators have approved the exact calldata of a proposal (the confirm-then-execute
/// flow of Gnosis MultiSigWallet). With a threshold of 1 a proposal executes in the transaction that makes it.
/// Keys are never back-dated: a key is valid from the block that registered it (or a later time), except
/// through `migrateKey`, which records the historic window on chain with a flag verifiers show.
/// Kinds are bit positions in a uint64 mask (see `ledger.kinds.Kind`); departments are numbered from 1 in
/// admission order, and that number is what AttestationRegistry and CreditRegistry store.
/// Attestation kinds defined by a schema file are registered here too (as EAS's SchemaRegistry registers
/// schemas): the schema's digest, slug and version, owned by one department, numbered from 1. Only a current key
/// of that department holding the ATTESTATION kind may anchor attestations of it; a slug stays with the
/// department that first registered it, and each new version is a new schema, so old attestations keep
/// verifying against the schema they were signed under.
/// A signing key is of one of two suites. A secp256k1 key is its Ethereum address. An SM2 key (GB/T 32918, curve
/// sm2p256v1) is registered by its public key through `registerSm2Key` and known everywhere else in the registry by
/// a derived address, the last 20 bytes of keccak256("SM2" || X || Y), whose first 4 bytes are the key id a QR
/// payload carries; its window, kinds, revocation and listing are those of any key.
contract IssuerRegistry {
    struct Department {
        uint32 index; // 1-based admission order; 0 = never admitted
        uint64 admittedAt;
        uint64 retiredAt; // 0 while the department is active
        uint64 creditScopes; // CreditRegistry scopes the department may write (bit i = scope i)
    }

    struct SigningKey {
        uint32 department; // department index; 0 = unknown key
        uint64 kinds;
        uint64 validFrom;
        uint64 revokedAt; // 0 while the key is not revoked
        bool migrated; // registered through `migrateKey` with a historic validFrom
    }

    /// @dev An SM2 public key's affine coordinates; (0, 0) is not on the curve, so all zero means "none".
    struct Sm2PublicKey {
        bytes32 x;
        bytes32 y;
    }

    struct Inspector {
        uint32 department;
        bool active;
    }

    /// @dev One slot besides the digest: 32 + 32 + 64 bits.
    struct Schema {
        bytes32 digest; // keccak256 of the schema file's canonical JSON (`kinds.schema`)
        uint32 department; // the issuing department's index
        uint32 version;
        uint64 registeredAt;
    }

    struct Proposal {
        bytes32 callHash;
        address proposer;
        uint32 approvals;
        bool executed;
    }

    mapping(bytes32 department => Department) private _departments;
    mapping(uint32 index => bytes32 department) private _departmentIds;
    mapping(bytes32 department => string name) private _names;
    mapping(uint32 index => address[] keys) private _keysOf;
    mapping(address key => SigningKey) private _keys;
    mapping(address inspector => Inspector) private _inspectors;
    address[] private _keyList;
    uint32 private _departmentCount;

    mapping(address key => Sm2PublicKey) private _sm2Keys;
    mapping(bytes4 id => address key) private _sm2KeyIds; // a payload names its SM2 key by the address's first 4 bytes

    // sm2p256v1 (GB/T 32918.5): y^2 = x^3 + a x + b over F_p, with a = p - 3.
    uint256 private constant SM2_P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF;
    uint256 private constant SM2_A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC;
    uint256 private constant SM2_B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93;

    /// @notice The kind bit a key needs to sign and anchor attestations of its department's schemas.
    uint8 public constant ATTESTATION_KIND = 8;
    mapping(uint32 index => Schema) private _schemas;
    mapping(uint32 index => string slug) private _schemaSlugs;
    mapping(bytes8 id => uint32 index) private _schemaIds; // a payload names its schema by the digest's first 8 bytes
    mapping(bytes32 slugHash => uint32 index) private _latestSchema;
    uint32 private _schemaCount;

    mapping(address account => bool) private _isAdministrator;
    address[] private _administrators;
    /// @notice How many administrators must approve an administrative call.
    uint32 public threshold;
    /// @notice Proposals made so far (ids run from 1).
    uint256 public proposalCount;
    mapping(uint256 id => Proposal) private _proposals;
    mapping(uint256 id => mapping(address administrator => bool)) private _approved;

    error IssuerRegistryUnauthorized(address caller);
    error IssuerRegistryZeroAddress();
    error IssuerRegistryInvalidThreshold(uint256 threshold, uint256 administrators);
    error IssuerRegistryAdministratorExists(address account);
    error IssuerRegistryUnknownAdministrator(address account);
    error IssuerRegistryUnknownProposal(uint256 id);
    error IssuerRegistryProposalMismatch(uint256 id);
    error IssuerRegistryProposalExecuted(uint256 id);
    error IssuerRegistryAlreadyApproved(uint256 id, address administrator);
    error IssuerRegistryInvalidDepartment(bytes32 department);
    error IssuerRegistryDepartmentExists(bytes32 department);
    error IssuerRegistryUnknownDepartment(bytes32 department);
    error IssuerRegistryDepartmentRetired(bytes32 department);
    error IssuerRegistryKeyExists(address key);
    error IssuerRegistryUnknownKey(address key);
    error IssuerRegistryKeyAlreadyRevoked(address key);
    error IssuerRegistryNoKinds();
    error IssuerRegistryBackdatedKey(address key, uint64 validFrom, uint64 registeredAt);
    error IssuerRegistryInvalidMigration(address key, uint64 validFrom);
    error IssuerRegistryInvalidRevocationTime(address key, uint64 revokedAt);
    error IssuerRegistryInvalidSchema(bytes32 digest);
    error IssuerRegistrySchemaExists(bytes8 id);
    error IssuerRegistrySlugTaken(bytes32 slugHash, bytes32 department);
    error IssuerRegistryStaleSchemaVersion(bytes32 slugHash, uint32 version, uint32 latest);
    error IssuerRegistryInvalidPublicKey();
    error IssuerRegistryKeyIdTaken(bytes4 id, address key);
    error IssuerRegistryInspectorExists(address inspector);
    error IssuerRegistryUnknownInspector(address inspector);

    event AdministratorAdded(address indexed account);
    event AdministratorRemoved(address indexed account);
    event ThresholdChanged(uint32 threshold);
    event Proposed(uint256 indexed id, address indexed proposer, bytes data);
    event Approved(uint256 indexed id, address indexed administrator, uint32 approvals);
    event Executed(uint256 indexed id);
    event DepartmentAdmitted(bytes32 indexed department, uint32 index, string name, uint64 creditScopes);
    event DepartmentRetired(bytes32 indexed department, uint64 retiredAt);
    event CreditScopesChanged(bytes32 indexed department, uint64 creditScopes);
    event KeyRegistered(address indexed key, bytes32 indexed department, uint256 kinds, uint64 validFrom);
    event KeyMigrated(address indexed key, bytes32 indexed department, uint256 kinds, uint64 validFrom,
        bytes32 basis);
    event KeyRevoked(address indexed key, bytes32 indexed department, uint64 revokedAt);
    event Sm2KeyRegistered(address indexed key, bytes4 indexed id, bytes publicKey);
    event SchemaRegistered(uint32 indexed index, bytes32 indexed digest, bytes32 indexed department, string slug,
        uint32 version);
    event InspectorGranted(address indexed inspector, bytes32 indexed department);
    event InspectorRevoked(address indexed inspector, bytes32 indexed department);

    modifier onlySelf() {
        if (msg.sender != address(this)) revert IssuerRegistryUnauthorized(msg.sender);
        _;
    }

    modifier onlyAdministrator() {
        if (!_isAdministrator[msg.sender]) revert IssuerRegistryUnauthorized(msg.sender);
        _;
    }

    /// @param administrators The district administrators.
    /// @param approvalThreshold How many of them must approve an administrative call (1 ≤ k ≤ n).
    constructor(address[] memory administrators, uint32 approvalThreshold) {
        for (uint256 i = 0; i < administrators.length; i++) {
            _addAdministrator(administrators[i]);
        }
        _setThreshold(approvalThreshold);
    }

    // -- approvals ---------------------------------------------------------------------------------

    /// @notice Propose an administrative call on this registry and approve it; it executes at once when the
    /// threshold is 1. Only an administrator may propose.
    /// @param data The calldata of the call (e.g. `registerKey(...)`), made by the registry on itself.
    /// @return id The proposal's id.
    function propose(bytes calldata data) external onlyAdministrator returns (uint256 id) {
        id = ++proposalCount;
        _proposals[id] = Proposal({callHash: keccak256(data), proposer: msg.sender, approvals: 0, executed: false});
        emit Proposed(id, msg.sender, data);
        _approve(id, data);
    }

    /// @notice Approve proposal `id`, whose calldata must be passed again; the approval that reaches the
    /// threshold executes it (and reverts with the call's own error if the call fails).
    /// @param id The proposal's id.
    /// @param data The proposal's calldata (from its `Proposed` event).
    function approve(uint256 id, bytes calldata data) external onlyAdministrator {
        Proposal storage p = _proposals[id];
        if (p.callHash == bytes32(0)) revert IssuerRegistryUnknownProposal(id);
        if (p.callHash != keccak256(data)) revert IssuerRegistryProposalMismatch(id);
        _approve(id, data);
    }

    /// @notice A proposal's state.
    /// @param id The proposal's id.
    function proposal(uint256 id)
        external
        view
        returns (bytes32 callHash, address proposer, uint32 approvals, bool executed)
    {
        Proposal storage p = _proposals[id];
        return (p.callHash, p.proposer, p.approvals, p.executed);
    }

    /// @notice Whether `administrator` approved proposal `id`.
    /// @param id The proposal's id.
    /// @param administrator The administrator's account.
    function hasApproved(uint256 id, address administrator) external view returns (bool) {
        return _approved[id][administrator];
    }

    /// @notice The district administrators.
    function administrators() external view returns (address[] memory) {
        return _administrators;
    }

    /// @notice Whether `account` is a district administrator.
    /// @param account The account to check.
    function isAdministrator(address account) external view returns (bool) {
        return _isAdministrator[account];
    }

    /// @notice Add a district administrator (through approvals).
    /// @param account The new administrator.
    function addAdministrator(address account) external onlySelf {
        _addAdministrator(account);
    }

    /// @notice Remove a district administrator (through approvals); the threshold must stay reachable.
    /// @param account The administrator to remove.
    function removeAdministrator(address account) external onlySelf {
        if (!_isAdministrator[account]) revert IssuerRegistryUnknownAdministrator(account);
        if (_administrators.length - 1 < threshold) {
            revert IssuerRegistryInvalidThreshold(threshold, _administrators.length - 1);
        }
        _isAdministrator[account] = false;
        for (uint256 i = 0; i < _administrators.length; i++) {
            if (_administrators[i] == account) {
                _administrators[i] = _administrators[_administrators.length - 1];
                _administrators.pop();
                break;
            }
        }
        emit AdministratorRemoved(account);
    }

    /// @notice Change how many approvals an administrative call needs (through approvals).
    /// @param approvalThreshold The new threshold.
    function changeThreshold(uint32 approvalThreshold) external onlySelf {
        _setThreshold(approvalThreshold);
    }

    // -- departments and keys (each through approvals) ---------------------------------------------

    /// @notice Admit a department (tax bureau, social-insurance bureau, market supervision, ...).
    /// @param department A short identifier, e.g. the ASCII of "tax.440604" right-padded to 32 bytes.
    /// @param name The department's public name.
    /// @param creditScopes The CreditRegistry scopes (record kinds, grade, lists) the department may write.
    function admitDepartment(bytes32 department, string calldata name, uint64 creditScopes) external onlySelf {
        if (department == bytes32(0)) revert IssuerRegistryInvalidDepartment(department);
        if (_departments[department].index != 0) revert IssuerRegistryDepartmentExists(department);
        uint32 index = ++_departmentCount;
        _departments[department] = Department({
            index: index, admittedAt: uint64(block.timestamp), retiredAt: 0, creditScopes: creditScopes
        });
        _departmentIds[index] = department;
        _names[department] = name;
        emit DepartmentAdmitted(department, index, name, creditScopes);
    }

    /// @notice Change what a department may write in CreditRegistry.
    /// @param department The department.
    /// @param creditScopes The new scopes.
    function setCreditScopes(bytes32 department, uint64 creditScopes) external onlySelf {
        _requireActiveDepartment(department).creditScopes = creditScopes;
        emit CreditScopesChanged(department, creditScopes);
    }

    /// @notice Retire a department: its keys are revoked from now on. Past signatures stay valid.
    /// @param department The department to retire.
    function retireDepartment(bytes32 department) external onlySelf {
        Department storage d = _requireActiveDepartment(department);
        uint64 nowTs = uint64(block.timestamp);
        d.retiredAt = nowTs;
        address[] storage keyList = _keysOf[d.index];
        for (uint256 i = 0; i < keyList.length; i++) {
            SigningKey storage k = _keys[keyList[i]];
            if (k.revokedAt == 0 || k.revokedAt > nowTs) {
                k.revokedAt = nowTs < k.validFrom ? k.validFrom : nowTs;
                emit KeyRevoked(keyList[i], department, k.revokedAt);
            }
        }
        emit DepartmentRetired(department, nowTs);
    }

    /// @notice Register an attestation kind's schema for the department that issues it.
    /// @param digest The schema's digest; its first 8 bytes must be unique (QR payloads carry them).
    /// @param department The issuing department (active).
    /// @param slug The kind's name, e.g. "residence-proof": another department's slug is refused.
    /// @param version The schema's version: above every version of the slug registered before.
    function registerSchema(bytes32 digest, bytes32 department, string calldata slug, uint32 version)
        external
        onlySelf
    {
        uint256 slugLength = bytes(slug).length;
        if (digest == bytes32(0) || slugLength == 0 || slugLength > 64 || version == 0) {
            revert IssuerRegistryInvalidSchema(digest);
        }
        Department storage d = _requireActiveDepartment(department);
        bytes8 id = bytes8(digest);
        if (_schemaIds[id] != 0) revert IssuerRegistrySchemaExists(id);
        bytes32 slugHash = keccak256(bytes(slug));
        uint32 latest = _latestSchema[slugHash];
        if (latest != 0) {
            Schema storage previous = _schemas[latest];
            if (previous.department != d.index) {
                revert IssuerRegistrySlugTaken(slugHash, _departmentIds[previous.department]);
            }
            if (version <= previous.version) revert IssuerRegistryStaleSchemaVersion(slugHash, version, previous.version);
        }
        uint32 index = ++_schemaCount;
        _schemas[index] = Schema({
            digest: digest, department: d.index, version: version, registeredAt: uint64(block.timestamp)
        });
        _schemaSlugs[index] = slug;
        _schemaIds[id] = index;
        _latestSchema[slugHash] = index;
        emit SchemaRegistered(index, digest, department, slug, version);
    }

    /// @notice Register a department signing key for some kinds, valid from `validFrom` on.
    /// @param key The key's address.
    /// @param department The department the key belongs to.
    /// @param kinds Bit mask of attestation kinds (bit i set = kind i allowed).
    /// @param validFrom First second (unix time) the key may sign: 0 means this block; never earlier.
    function registerKey(address key, bytes32 department, uint64 kinds, uint64 validFrom) external onlySelf {
        uint64 nowTs = uint64(block.timestamp);
        uint64 from = validFrom == 0 ? nowTs : validFrom;
        if (from < nowTs) revert IssuerRegistryBackdatedKey(key, from, nowTs);
        _register(key, department, kinds, from, false);
        emit KeyRegistered(key, department, kinds, from);
    }

    /// @notice Register a department's SM2 signing key (GB/T 32918, curve sm2p256v1) for some kinds, valid from
    /// `validFrom` on. The key is known by its derived address (`sm2KeyAddress`) in every other call: `revokeKey`,
    /// `isAuthorized`, `keyInfo`, `keys`. Nobody holds a secp256k1 private key for a derived address (that would
    /// take a keccak256 preimage), so an SM2 key can never send a transaction itself (anchor, revoke): it only
    /// signs certificates off chain, which verifiers check against the public key stored here.
    /// @param publicKey The uncompressed public key X || Y (64 bytes, without the 0x04 prefix), a point on the curve.
    /// @param department The department the key belongs to.
    /// @param kinds Bit mask of attestation kinds (bit i set = kind i allowed).
    /// @param validFrom First second (unix time) the key may sign: 0 means this block; never earlier.
    function registerSm2Key(bytes calldata publicKey, bytes32 department, uint64 kinds, uint64 validFrom)
        external
        onlySelf
    {
        address key = _sm2KeyAddress(publicKey);
        uint64 nowTs = uint64(block.timestamp);
        uint64 from = validFrom == 0 ? nowTs : validFrom;
        if (from < nowTs) revert IssuerRegistryBackdatedKey(key, from, nowTs);
        _storeSm2Key(publicKey, key);
        _register(key, department, kinds, from, false);
        emit KeyRegistered(key, department, kinds, from);
        emit Sm2KeyRegistered(key, bytes4(bytes20(key)), publicKey);
    }

    /// @notice `migrateKey` for an SM2 key: after a chain reset, register it with the historic window its
    /// certificates were signed in, flagged `migrated`, the basis recorded in the event.
    /// @param publicKey The public key X || Y (64 bytes), a point on the curve.
    /// @param department The department the key belongs to.
    /// @param kinds Bit mask of attestation kinds.
    /// @param validFrom The historic start of the key's window (before this block).
    /// @param basis Digest of the migration record.
    function migrateSm2Key(
        bytes calldata publicKey,
        bytes32 department,
        uint64 kinds,
        uint64 validFrom,
        bytes32 basis
    ) external onlySelf {
        address key = _sm2KeyAddress(publicKey);
        if (validFrom == 0 || validFrom >= block.timestamp) revert IssuerRegistryInvalidMigration(key, validFrom);
        _storeSm2Key(publicKey, key);
        _register(key, department, kinds, validFrom, true);
        emit KeyMigrated(key, department, kinds, validFrom, basis);
        emit Sm2KeyRegistered(key, bytes4(bytes20(key)), publicKey);
    }

    /// @notice The migration path for re-anchoring after a chain reset: register a key whose window began
    /// before this block, because certificates it signed then exist. The key is flagged `migrated`, the
    /// event records the basis, and verifiers show the flag.
    /// @param key The key's address.
    /// @param department The department the key belongs to.
    /// @param kinds Bit mask of attestation kinds.
    /// @param validFrom The historic start of the key's window (before this block).
    /// @param basis Digest of the migration record (e.g. of the previous chain's deployment and key list).
    function migrateKey(address key, bytes32 department, uint64 kinds, uint64 validFrom, bytes32 basis)
        external
        onlySelf
    {
        if (validFrom == 0 || validFrom >= block.timestamp) revert IssuerRegistryInvalidMigration(key, validFrom);
        _register(key, department, kinds, validFrom, true);
        emit KeyMigrated(key, department, kinds, validFrom, basis);
    }

    /// @notice Revoke a key from `revokedAt` on (0 means now). A time in the past records a compromise
    /// discovered late: signatures made after it stop verifying. Revocation is final.
    /// @param key The key to revoke.
    /// @param revokedAt First second at which the key is no longer valid.
    function revokeKey(address key, uint64 revokedAt) external onlySelf {
        SigningKey storage k = _keys[key];
        if (k.department == 0) revert IssuerRegistryUnknownKey(key);
        if (k.revokedAt != 0) revert IssuerRegistryKeyAlreadyRevoked(key);
        uint64 at = revokedAt == 0 ? uint64(block.timestamp) : revokedAt;
        if (at < k.validFrom) revert IssuerRegistryInvalidRevocationTime(key, at);
        k.revokedAt = at;
        emit KeyRevoked(key, _departmentIds[k.department], at);
    }

    /// @notice Name `inspector` an inspector of `department`.
    /// @param inspector The inspector's account.
    /// @param department The department the inspector works for.
    function grantInspector(address inspector, bytes32 department) external onlySelf {
        if (inspector == address(0)) revert IssuerRegistryZeroAddress();
        Department storage d = _requireActiveDepartment(department);
        if (_inspectors[inspector].active) revert IssuerRegistryInspectorExists(inspector);
        _inspectors[inspector] = Inspector({department: d.index, active: true});
        emit InspectorGranted(inspector, department);
    }

    /// @notice Withdraw the inspector role from `inspector`.
    /// @param inspector The inspector's account.
    function revokeInspector(address inspector) external onlySelf {
        Inspector storage i = _inspectors[inspector];
        if (!i.active) revert IssuerRegistryUnknownInspector(inspector);
        i.active = false;
        emit InspectorRevoked(inspector, _departmentIds[i.department]);
    }

    // -- questions other contracts and verifiers ask --------------------------------------------------

    /// @notice Whether `key` was allowed to sign attestations of `kind` at `timestamp`.
    /// @param key The signing key's address.
    /// @param kind The attestation kind (bit position).
    /// @param timestamp The unix time of the signature (a certificate's issue time, or now).
    function isAuthorized(address key, uint8 kind, uint64 timestamp) public view returns (bool) {
        SigningKey storage k = _keys[key];
        return k.department != 0 && (k.kinds >> kind) & 1 == 1 && _inWindow(k, timestamp);
    }

    /// @notice The department index of `key` when it may sign `kind` now, else 0 (one storage read: a
    /// retired department's keys are revoked when it retires).
    /// @param key The signing key's address.
    /// @param kind The attestation kind.
    function authorizedDepartment(address key, uint8 kind) external view returns (uint32) {
        SigningKey storage k = _keys[key];
        if ((k.kinds >> kind) & 1 == 0 || !_inWindow(k, uint64(block.timestamp))) return 0;
        return k.department;
    }

    /// @notice The department index of `key` when it may sign and anchor attestations of schema `index` now: a
    /// current key holding the ATTESTATION kind, of the department that registered the schema. Else 0.
    /// @param key The signing key's address.
    /// @param index The schema's number.
    function schemaIssuer(address key, uint32 index) external view returns (uint32) {
        SigningKey storage k = _keys[key];
        if ((k.kinds >> ATTESTATION_KIND) & 1 == 0 || !_inWindow(k, uint64(block.timestamp))) return 0;
        uint32 department = _schemas[index].department;
        return department == k.department ? department : 0;
    }

    /// @notice The department index of `key` when it is a current key, else 0.
    /// @param key The key's address.
    function activeDepartment(address key) external view returns (uint32) {
        SigningKey storage k = _keys[key];
        return _inWindow(k, uint64(block.timestamp)) ? k.department : 0;
    }

    /// @notice The department index of `key` when it is a current credit-record key of a department that
    /// may write CreditRegistry scope `scope`, else 0.
    /// @param key The key's address.
    /// @param kind The credit-record attestation kind.
    /// @param scope The CreditRegistry scope (bit position).
    function creditWriter(address key, uint8 kind, uint8 scope) external view returns (uint32) {
        SigningKey storage k = _keys[key];
        if ((k.kinds >> kind) & 1 == 0 || !_inWindow(k, uint64(block.timestamp))) return 0;
        uint64 scopes = _departments[_departmentIds[k.department]].creditScopes;
        return (scopes >> scope) & 1 == 1 ? k.department : 0;
    }

    /// @notice Whether `key` is a registered, unrevoked key of an active department right now.
    /// @param key The key's address.
    function isActiveKey(address key) external view returns (bool) {
        SigningKey storage k = _keys[key];
        return k.department != 0 && _inWindow(k, uint64(block.timestamp));
    }

    /// @notice Whether `account` currently holds the inspector role.
    /// @param account The account to check.
    function isInspector(address account) external view returns (bool) {
        Inspector storage i = _inspectors[account];
        return i.active && _departments[_departmentIds[i.department]].retiredAt == 0;
    }

    /// @notice The department an inspector works for (zero if none).
    /// @param account The inspector's account.
    function inspectorDepartment(address account) external view returns (bytes32) {
        return _departmentIds[_inspectors[account].department];
    }

    /// @notice The department that owns `key` (zero if the key is unknown).
    /// @param key The key's address.
    function departmentOf(address key) external view returns (bytes32) {
        return _departmentIds[_keys[key].department];
    }

    /// @notice The department with admission number `index` (zero if none).
    /// @param index The department's index.
    function departmentAt(uint32 index) external view returns (bytes32) {
        return _departmentIds[index];
    }

    /// @notice A key's registration.
    /// @param key The key's address.
    function keyInfo(address key)
        external
        view
        returns (bytes32 department, uint256 kinds, uint64 validFrom, uint64 revokedAt, bool migrated)
    {
        SigningKey storage k = _keys[key];
        return (_departmentIds[k.department], k.kinds, k.validFrom, k.revokedAt, k.migrated);
    }

    /// @notice The SM2 public key X || Y registered under `key` (empty for a secp256k1 key or an unknown key).
    /// @param key The key's (derived) address.
    function sm2PublicKey(address key) external view returns (bytes memory) {
        Sm2PublicKey storage k = _sm2Keys[key];
        if (k.x == bytes32(0) && k.y == bytes32(0)) return "";
        return abi.encodePacked(k.x, k.y);
    }

    /// @notice The address of the SM2 key whose id is `id` (zero if none).
    /// @param id The key id: the first 4 bytes of the key's derived address, as a QR payload carries it.
    function sm2KeyById(bytes4 id) external view returns (address) {
        return _sm2KeyIds[id];
    }

    /// @notice The address an SM2 public key is registered under: the last 20 bytes of
    /// keccak256("SM2" || publicKey). Derivation only: `registerSm2Key` checks the key is a point on the curve.
    /// @param publicKey The public key X || Y.
    function sm2KeyAddress(bytes calldata publicKey) external pure returns (address) {
        return _sm2KeyAddress(publicKey);
    }

    /// @notice A department's record.
    /// @param department The department identifier.
    function departmentInfo(bytes32 department)
        external
        view
        returns (string memory name, uint32 index, uint64 admittedAt, uint64 retiredAt, uint64 creditScopes)
    {
        Department storage d = _departments[department];
        return (_names[department], d.index, d.admittedAt, d.retiredAt, d.creditScopes);
    }

    /// @notice Every department ever admitted, in admission order.
    function departments() external view returns (bytes32[] memory ids) {
        ids = new bytes32[](_departmentCount);
        for (uint32 i = 0; i < _departmentCount; i++) {
            ids[i] = _departmentIds[i + 1];
        }
    }

    /// @notice A registered schema (all zero if there is none with that number).
    /// @param index The schema's number (from 1, in registration order).
    function schemaInfo(uint32 index)
        external
        view
        returns (bytes32 digest, bytes32 department, string memory slug, uint32 version, uint64 registeredAt)
    {
        Schema storage s = _schemas[index];
        return (s.digest, _departmentIds[s.department], _schemaSlugs[index], s.version, s.registeredAt);
    }

    /// @notice The number of the schema whose digest begins with `id` (0 if none).
    /// @param id The digest's first 8 bytes.
    function schemaIndex(bytes8 id) external view returns (uint32) {
        return _schemaIds[id];
    }

    /// @notice How many schemas have been registered.
    function schemaCount() external view returns (uint32) {
        return _schemaCount;
    }

    /// @notice Every key ever registered, in registration order.
    function keys() external view returns (address[] memory) {
        return _keyList;
    }

    // -- internals -----------------------------------------------------------------------------------

    function _approve(uint256 id, bytes calldata data) private {
        Proposal storage p = _proposals[id];
        if (p.executed) revert IssuerRegistryProposalExecuted(id);
        if (_approved[id][msg.sender]) revert IssuerRegistryAlreadyApproved(id, msg.sender);
        _approved[id][msg.sender] = true;
        uint32 approvals = p.approvals + 1;
        p.approvals = approvals;
        emit Approved(id, msg.sender, approvals);
        if (approvals < threshold) return;
        p.executed = true;
        (bool ok, bytes memory result) = address(this).call(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(result, 0x20), mload(result))
            }
        }
        emit Executed(id);
    }

    function _addAdministrator(address account) private {
        if (account == address(0)) revert IssuerRegistryZeroAddress();
        if (_isAdministrator[account]) revert IssuerRegistryAdministratorExists(account);
        _isAdministrator[account] = true;
        _administrators.push(account);
        emit AdministratorAdded(account);
    }

    function _setThreshold(uint32 approvalThreshold) private {
        if (approvalThreshold == 0 || approvalThreshold > _administrators.length) {
            revert IssuerRegistryInvalidThreshold(approvalThreshold, _administrators.length);
        }
        threshold = approvalThreshold;
        emit ThresholdChanged(approvalThreshold);
    }

    function _register(address key, bytes32 department, uint64 kinds, uint64 validFrom, bool migrated) private {
        if (key == address(0)) revert IssuerRegistryZeroAddress();
        if (kinds == 0) revert IssuerRegistryNoKinds();
        Department storage d = _requireActiveDepartment(department);
        if (_keys[key].department != 0) revert IssuerRegistryKeyExists(key);
        _keys[key] = SigningKey({
            department: d.index, kinds: kinds, validFrom: validFrom, revokedAt: 0, migrated: migrated
        });
        _keysOf[d.index].push(key);
        _keyList.push(key);
    }

    /// @dev Checks an SM2 public key (on the curve, its id free) and stores it under its derived address `key`.
    function _storeSm2Key(bytes calldata publicKey, address key) private {
        if (!_onSm2Curve(publicKey)) revert IssuerRegistryInvalidPublicKey();
        bytes4 id = bytes4(bytes20(key));
        address holder = _sm2KeyIds[id];
        if (holder != address(0) && holder != key) revert IssuerRegistryKeyIdTaken(id, holder);
        _sm2Keys[key] = Sm2PublicKey({x: bytes32(publicKey[:32]), y: bytes32(publicKey[32:])});
        _sm2KeyIds[id] = key;
    }

    function _sm2KeyAddress(bytes calldata publicKey) private pure returns (address) {
        return address(uint160(uint256(keccak256(abi.encodePacked(bytes3("SM2"), publicKey)))));
    }

    /// @dev Whether `publicKey` is 64 bytes X || Y with x, y < p and y^2 = x^3 + a x + b (mod p).
    function _onSm2Curve(bytes calldata publicKey) private pure returns (bool) {
        if (publicKey.length != 64) return false;
        uint256 x = uint256(bytes32(publicKey[:32]));
        uint256 y = uint256(bytes32(publicKey[32:]));
        if (x >= SM2_P || y >= SM2_P) return false;
        uint256 rhs = addmod(mulmod(mulmod(x, x, SM2_P), x, SM2_P), mulmod(SM2_A, x, SM2_P), SM2_P);
        return mulmod(y, y, SM2_P) == addmod(rhs, SM2_B, SM2_P);
    }

    function _inWindow(SigningKey storage k, uint64 timestamp) private view returns (bool) {
        return k.department != 0 && timestamp >= k.validFrom && (k.revokedAt == 0 || timestamp < k.revokedAt);
    }

    function _requireActiveDepartment(bytes32 department) private view returns (Department storage d) {
        d = _departments[department];
        if (d.index == 0) revert IssuerRegistryUnknownDepartment(department);
        if (d.retiredAt != 0) revert IssuerRegistryDepartmentRetired(department);
    }
}

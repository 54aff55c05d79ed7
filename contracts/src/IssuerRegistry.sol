// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IssuerRegistry
/// @notice The permissioned core of ZeroErrand Ledger: the district admin admits departments, registers
/// each department's signing keys with the attestation kinds they may sign and their validity window,
/// and names inspectors. Every other contract asks this one who may write.
/// @dev Kinds are bit positions in a uint256 mask (see `ledger.kinds.Kind` on the Python side).
/// Validity is answered for any timestamp, so a certificate signed before a key was revoked still
/// verifies and one signed after it does not.
contract IssuerRegistry {
    struct Department {
        string name;
        uint64 admittedAt;
        uint64 retiredAt; // 0 while the department is active
    }

    struct SigningKey {
        bytes32 department;
        uint256 kinds;
        uint64 validFrom;
        uint64 revokedAt; // 0 while the key is not revoked
    }

    struct Inspector {
        bytes32 department;
        bool active;
    }

    /// @notice The district admin (the district data office).
    address public admin;
    /// @notice The account an admin transfer is waiting for, if any.
    address public pendingAdmin;

    mapping(bytes32 department => Department) private _departments;
    mapping(address key => SigningKey) private _keys;
    mapping(address inspector => Inspector) private _inspectors;
    bytes32[] private _departmentIds;
    address[] private _keyList;

    error IssuerRegistryUnauthorized(address caller);
    error IssuerRegistryZeroAddress();
    error IssuerRegistryInvalidDepartment(bytes32 department);
    error IssuerRegistryDepartmentExists(bytes32 department);
    error IssuerRegistryUnknownDepartment(bytes32 department);
    error IssuerRegistryDepartmentRetired(bytes32 department);
    error IssuerRegistryKeyExists(address key);
    error IssuerRegistryUnknownKey(address key);
    error IssuerRegistryKeyAlreadyRevoked(address key);
    error IssuerRegistryNoKinds();
    error IssuerRegistryInvalidRevocationTime(address key, uint64 revokedAt);
    error IssuerRegistryInspectorExists(address inspector);
    error IssuerRegistryUnknownInspector(address inspector);

    event AdminTransferStarted(address indexed previousAdmin, address indexed newAdmin);
    event AdminTransferred(address indexed previousAdmin, address indexed newAdmin);
    event DepartmentAdmitted(bytes32 indexed department, string name, uint64 admittedAt);
    event DepartmentRetired(bytes32 indexed department, uint64 retiredAt);
    event KeyRegistered(address indexed key, bytes32 indexed department, uint256 kinds, uint64 validFrom);
    event KeyRevoked(address indexed key, bytes32 indexed department, uint64 revokedAt);
    event InspectorGranted(address indexed inspector, bytes32 indexed department);
    event InspectorRevoked(address indexed inspector, bytes32 indexed department);

    modifier onlyAdmin() {
        if (msg.sender != admin) revert IssuerRegistryUnauthorized(msg.sender);
        _;
    }

    /// @param initialAdmin The district admin account.
    constructor(address initialAdmin) {
        if (initialAdmin == address(0)) revert IssuerRegistryZeroAddress();
        admin = initialAdmin;
        emit AdminTransferred(address(0), initialAdmin);
    }

    /// @notice Start handing the admin role to `newAdmin`; it takes effect when `newAdmin` accepts.
    /// @param newAdmin The next admin account.
    function transferAdmin(address newAdmin) external onlyAdmin {
        if (newAdmin == address(0)) revert IssuerRegistryZeroAddress();
        pendingAdmin = newAdmin;
        emit AdminTransferStarted(admin, newAdmin);
    }

    /// @notice Accept a pending admin transfer. Only the pending admin may call it.
    function acceptAdmin() external {
        if (msg.sender != pendingAdmin) revert IssuerRegistryUnauthorized(msg.sender);
        address previous = admin;
        admin = msg.sender;
        pendingAdmin = address(0);
        emit AdminTransferred(previous, msg.sender);
    }

    /// @notice Admit a department (tax bureau, social-insurance bureau, market supervision, ...).
    /// @param department A short identifier, e.g. the ASCII of "tax.440604" right-padded to 32 bytes.
    /// @param name The department's public name.
    function admitDepartment(bytes32 department, string calldata name) external onlyAdmin {
        if (department == bytes32(0)) revert IssuerRegistryInvalidDepartment(department);
        if (_departments[department].admittedAt != 0) revert IssuerRegistryDepartmentExists(department);
        uint64 nowTs = uint64(block.timestamp);
        _departments[department] = Department({name: name, admittedAt: nowTs, retiredAt: 0});
        _departmentIds.push(department);
        emit DepartmentAdmitted(department, name, nowTs);
    }

    /// @notice Retire a department: none of its keys is authorized from now on. Past signatures stay valid.
    /// @param department The department to retire.
    function retireDepartment(bytes32 department) external onlyAdmin {
        Department storage d = _requireActiveDepartment(department);
        uint64 nowTs = uint64(block.timestamp);
        d.retiredAt = nowTs;
        emit DepartmentRetired(department, nowTs);
    }

    /// @notice Register a department signing key with the kinds it may sign from `validFrom` on.
    /// @param key The key's address.
    /// @param department The department the key belongs to.
    /// @param kinds Bit mask of attestation kinds (bit i set = kind i allowed).
    /// @param validFrom First second (unix time) at which the key may sign; 0 means now.
    function registerKey(address key, bytes32 department, uint256 kinds, uint64 validFrom) external onlyAdmin {
        if (key == address(0)) revert IssuerRegistryZeroAddress();
        if (kinds == 0) revert IssuerRegistryNoKinds();
        _requireActiveDepartment(department);
        if (_keys[key].department != bytes32(0)) revert IssuerRegistryKeyExists(key);
        uint64 from = validFrom == 0 ? uint64(block.timestamp) : validFrom;
        _keys[key] = SigningKey({department: department, kinds: kinds, validFrom: from, revokedAt: 0});
        _keyList.push(key);
        emit KeyRegistered(key, department, kinds, from);
    }

    /// @notice Revoke a key from `revokedAt` on (0 means now). A time in the past records a compromise
    /// discovered late: signatures made after it stop verifying. Revocation is final.
    /// @param key The key to revoke.
    /// @param revokedAt First second at which the key is no longer valid.
    function revokeKey(address key, uint64 revokedAt) external onlyAdmin {
        SigningKey storage k = _keys[key];
        if (k.department == bytes32(0)) revert IssuerRegistryUnknownKey(key);
        if (k.revokedAt != 0) revert IssuerRegistryKeyAlreadyRevoked(key);
        uint64 at = revokedAt == 0 ? uint64(block.timestamp) : revokedAt;
        if (at < k.validFrom) revert IssuerRegistryInvalidRevocationTime(key, at);
        k.revokedAt = at;
        emit KeyRevoked(key, k.department, at);
    }

    /// @notice Name `inspector` an inspector of `department`.
    /// @param inspector The inspector's account.
    /// @param department The department the inspector works for.
    function grantInspector(address inspector, bytes32 department) external onlyAdmin {
        if (inspector == address(0)) revert IssuerRegistryZeroAddress();
        _requireActiveDepartment(department);
        if (_inspectors[inspector].active) revert IssuerRegistryInspectorExists(inspector);
        _inspectors[inspector] = Inspector({department: department, active: true});
        emit InspectorGranted(inspector, department);
    }

    /// @notice Withdraw the inspector role from `inspector`.
    /// @param inspector The inspector's account.
    function revokeInspector(address inspector) external onlyAdmin {
        Inspector storage i = _inspectors[inspector];
        if (!i.active) revert IssuerRegistryUnknownInspector(inspector);
        i.active = false;
        emit InspectorRevoked(inspector, i.department);
    }

    /// @notice Whether `key` was allowed to sign attestations of `kind` at `timestamp`.
    /// @param key The signing key's address.
    /// @param kind The attestation kind (bit position).
    /// @param timestamp The unix time of the signature (a certificate's issue time, or now).
    function isAuthorized(address key, uint8 kind, uint64 timestamp) public view returns (bool) {
        SigningKey storage k = _keys[key];
        if (k.department == bytes32(0)) return false;
        if ((k.kinds >> kind) & 1 == 0) return false;
        if (timestamp < k.validFrom) return false;
        if (k.revokedAt != 0 && timestamp >= k.revokedAt) return false;
        // The key's window starts the authority (a key is only registered for an admitted department, and
        // the admin may date validFrom before the registering block); retiring the department ends it.
        uint64 retiredAt = _departments[k.department].retiredAt;
        return retiredAt == 0 || timestamp < retiredAt;
    }

    /// @notice Whether `key` is a registered, unrevoked key of an active department right now.
    /// @param key The key's address.
    function isActiveKey(address key) external view returns (bool) {
        SigningKey storage k = _keys[key];
        if (k.department == bytes32(0)) return false;
        uint64 nowTs = uint64(block.timestamp);
        if (nowTs < k.validFrom || (k.revokedAt != 0 && nowTs >= k.revokedAt)) return false;
        return _departments[k.department].retiredAt == 0;
    }

    /// @notice Whether `account` currently holds the inspector role.
    /// @param account The account to check.
    function isInspector(address account) external view returns (bool) {
        Inspector storage i = _inspectors[account];
        return i.active && _departments[i.department].retiredAt == 0;
    }

    /// @notice The department an inspector works for (zero if none).
    /// @param account The inspector's account.
    function inspectorDepartment(address account) external view returns (bytes32) {
        return _inspectors[account].department;
    }

    /// @notice The department that owns `key` (zero if the key is unknown).
    /// @param key The key's address.
    function departmentOf(address key) external view returns (bytes32) {
        return _keys[key].department;
    }

    /// @notice A key's registration.
    /// @param key The key's address.
    function keyInfo(address key)
        external
        view
        returns (bytes32 department, uint256 kinds, uint64 validFrom, uint64 revokedAt)
    {
        SigningKey storage k = _keys[key];
        return (k.department, k.kinds, k.validFrom, k.revokedAt);
    }

    /// @notice A department's record.
    /// @param department The department identifier.
    function departmentInfo(bytes32 department)
        external
        view
        returns (string memory name, uint64 admittedAt, uint64 retiredAt)
    {
        Department storage d = _departments[department];
        return (d.name, d.admittedAt, d.retiredAt);
    }

    /// @notice Every department ever admitted, in admission order.
    function departments() external view returns (bytes32[] memory) {
        return _departmentIds;
    }

    /// @notice Every key ever registered, in registration order.
    function keys() external view returns (address[] memory) {
        return _keyList;
    }

    function _requireActiveDepartment(bytes32 department) private view returns (Department storage d) {
        d = _departments[department];
        if (d.admittedAt == 0) revert IssuerRegistryUnknownDepartment(department);
        if (d.retiredAt != 0) revert IssuerRegistryDepartmentRetired(department);
    }
}

"""One exception tree for everything the ledger layer raises, rooted at `LedgerError` (itself an `errors.ZelError`,
each class also in the category the surfaces map: configuration, unavailable, conflict, forbidden, ...).

Contract custom errors and RPC failures are mapped here (see `ledger.tx.map_errors`), the way httpx maps
httpcore's exceptions: callers never see a web3 or requests exception.
"""

from __future__ import annotations

from typing import Any

import errors


class LedgerError(errors.ZelError):
    """Base class of every error the ledger layer raises."""

    #: The contract custom error this was mapped from, if any.
    error_name: str | None = None

    def __init__(self, message: str, *, detail: dict[str, Any] | None = None) -> None:
        super().__init__(message, detail=detail)


class ConfigurationError(LedgerError, errors.ConfigurationError):
    """The ledger is not set up: no deployment, no key, a bad URL or data directory."""


class ChainHeld(ConfigurationError):
    """Another process holds the embedded chain: this one may only read it (`detail` names the holder)."""


class NotDeployed(ConfigurationError):
    """No contracts are deployed on this chain (run `zel contracts deploy`)."""


class OutdatedDeployment(NotDeployed):
    """The chain holds contracts of an older trust model; they are never reused silently."""


class ArtifactError(ConfigurationError):
    """Compiled contract artifacts are missing, stale or do not match their sources."""


class KeystoreError(LedgerError, errors.ConfigurationError):
    """A keystore is missing, unreadable, or its password is wrong."""


class NodeUnavailable(LedgerError, errors.Unavailable):
    """The chain node cannot be reached or keeps failing; the call may be retried later."""


class TransactionTimeout(NodeUnavailable):
    """A sent transaction was not mined within the receipt timeout."""


class InsufficientFunds(LedgerError, errors.Unavailable):
    """The signing key cannot pay for gas on a chain that charges for it; fund the key."""


class TransactionFailed(LedgerError):
    """A transaction or call reverted for a reason not mapped to a more precise error."""


class NotAuthorized(TransactionFailed, errors.Forbidden):
    """The signing key is not authorized for this action at this time."""


class AlreadyAnchored(TransactionFailed, errors.Conflict):
    """This digest or batch root is already anchored."""


class UnknownCertificate(TransactionFailed, errors.NotFound):
    """No anchored batch holds this certificate (unknown root or a proof that does not hold)."""


class AlreadyRevoked(TransactionFailed, errors.Conflict):
    """The certificate is already revoked; revocation is permanent."""


class InvalidStateChange(TransactionFailed, errors.Conflict):
    """The requested status change does not apply (already suspended, not suspended)."""


class StaleChainHead(TransactionFailed, errors.Conflict):
    """Another writer appended to this credit chain first; reread the head and retry."""


class AlreadyExists(TransactionFailed, errors.Conflict):
    """The department, key or inspector is already registered."""


class UnknownEntry(TransactionFailed, errors.NotFound):
    """The department, key or inspector is not registered."""


class InvalidArgument(TransactionFailed, errors.InvalidInput):
    """The contract rejected an argument (zero value, bad window, bad grade)."""


class BackdatedKey(InvalidArgument):
    """A key cannot be valid before the block that registers it (outside the migration path)."""


# Contract custom error name -> (exception class, message template). Templates use the error's
# argument names as declared in the ABI.
CUSTOM_ERRORS: dict[str, tuple[type[LedgerError], str]] = {
    "IssuerRegistryUnauthorized": (
        NotAuthorized,
        "{caller} may not do this: administrative calls need the district administrators' approvals",
    ),
    "IssuerRegistryInvalidThreshold": (
        InvalidArgument,
        "an approval threshold of {threshold} is not between 1 and the {administrators} administrators",
    ),
    "IssuerRegistryAdministratorExists": (AlreadyExists, "{account} is already a district administrator"),
    "IssuerRegistryUnknownAdministrator": (UnknownEntry, "{account} is not a district administrator"),
    "IssuerRegistryUnknownProposal": (UnknownEntry, "there is no proposal {id}"),
    "IssuerRegistryProposalMismatch": (InvalidArgument, "the calldata given is not that of proposal {id}"),
    "IssuerRegistryProposalExecuted": (InvalidStateChange, "proposal {id} has already been executed"),
    "IssuerRegistryAlreadyApproved": (InvalidStateChange, "{administrator} has already approved proposal {id}"),
    "IssuerRegistryZeroAddress": (InvalidArgument, "the zero address is not allowed"),
    "IssuerRegistryInvalidDepartment": (InvalidArgument, "department id {department} is invalid"),
    "IssuerRegistryDepartmentExists": (AlreadyExists, "department {department} is already admitted"),
    "IssuerRegistryUnknownDepartment": (UnknownEntry, "department {department} was never admitted"),
    "IssuerRegistryDepartmentRetired": (InvalidArgument, "department {department} is retired"),
    "IssuerRegistryKeyExists": (AlreadyExists, "key {key} is already registered"),
    "IssuerRegistryUnknownKey": (UnknownEntry, "key {key} is not registered"),
    "IssuerRegistryKeyAlreadyRevoked": (AlreadyRevoked, "key {key} is already revoked"),
    "IssuerRegistryNoKinds": (InvalidArgument, "a key must be allowed at least one kind"),
    "IssuerRegistryBackdatedKey": (
        BackdatedKey,
        "key {key} cannot be valid from {validFrom}, before the block that registers it ({registeredAt}); "
        "a key valid in the past is registered only through the migration path (`zel issuer migrate-key`)",
    ),
    "IssuerRegistryInvalidMigration": (
        InvalidArgument,
        "a migrated key needs a validFrom in the past (got {validFrom} for {key}); register current keys normally",
    ),
    "IssuerRegistryInvalidRevocationTime": (
        InvalidArgument,
        "revocation time {revokedAt} of key {key} precedes its validFrom",
    ),
    "IssuerRegistryInvalidPublicKey": (
        InvalidArgument,
        "the SM2 public key is not 64 bytes X || Y of a point on the curve sm2p256v1",
    ),
    "IssuerRegistryKeyIdTaken": (
        AlreadyExists,
        "key id {id} is already held by SM2 key {key}: a QR payload could not tell the two apart",
    ),
    "IssuerRegistryInvalidSchema": (
        InvalidArgument,
        "schema {digest}: a schema needs a digest, a slug of 1 to 64 bytes and a version from 1",
    ),
    "IssuerRegistrySchemaExists": (AlreadyExists, "a schema whose digest begins {id} is already registered"),
    "IssuerRegistrySlugTaken": (NotAuthorized, "the kind's slug belongs to department {department}"),
    "IssuerRegistryStaleSchemaVersion": (
        InvalidArgument,
        "version {version} is not above the slug's latest registered version {latest}",
    ),
    "IssuerRegistryInspectorExists": (AlreadyExists, "{inspector} is already an inspector"),
    "IssuerRegistryUnknownInspector": (UnknownEntry, "{inspector} is not an inspector"),
    "AttestationRegistryNotAuthorized": (
        NotAuthorized,
        "key {key} is not authorized to anchor kind {kind} now",
    ),
    "AttestationRegistryNotAuthorizedForSchema": (
        NotAuthorized,
        "key {key} may not anchor attestations of schema {schema}: not a current attestation key of its department",
    ),
    "AttestationRegistryZeroRoot": (InvalidArgument, "the zero root cannot be anchored"),
    "AttestationRegistryInvalidLeafCount": (InvalidArgument, "a batch needs at least one leaf"),
    "AttestationRegistryAlreadyAnchored": (AlreadyAnchored, "root {root} is already anchored"),
    "AttestationRegistryUnknownCertificate": (
        UnknownCertificate,
        "certificate {digest} is not in any anchored batch (unknown root or bad proof)",
    ),
    "AttestationRegistryNotIssuingDepartment": (
        NotAuthorized,
        "{caller} is not a current key of issuing department {department}",
    ),
    "AttestationRegistryAlreadyRevoked": (AlreadyRevoked, "certificate {digest} is already revoked"),
    "AttestationRegistryAlreadySuspended": (
        InvalidStateChange,
        "certificate {digest} is already suspended",
    ),
    "AttestationRegistryNotSuspended": (InvalidStateChange, "certificate {digest} is not suspended"),
    "CreditRegistryNotAuthorized": (
        NotAuthorized,
        "key {key} may not write credit scope {scope}: not a current credit key of a department admitted for it",
    ),
    "CreditRegistryInvalidScope": (InvalidArgument, "credit scope {scope} is not a record scope"),
    "CreditRegistryListEntryOwned": (
        NotAuthorized,
        "the list entry of {subject} belongs to department {owner}: only it may change or end the entry",
    ),
    "CreditRegistryZeroDigest": (InvalidArgument, "the zero digest cannot be appended"),
    "CreditRegistryStaleHead": (
        StaleChainHead,
        "credit chain of {subject} moved: expected head {expected}, found {actual}",
    ),
    "CreditRegistryInvalidGrade": (InvalidArgument, "grade {grade} is not 1 (A) to 4 (D)"),
    "CreditRegistryInvalidWindow": (InvalidArgument, "black-list window {start}..{end} is empty"),
}


def _show(value: Any) -> Any:
    """Bytes as hex, except department ids (ASCII right-padded with zeros), shown as their name."""
    if not isinstance(value, bytes):
        return value
    text = value.rstrip(b"\0")
    if text and len(text) < len(value) and all(0x20 < c < 0x7F for c in text):
        return text.decode("ascii")
    return "0x" + value.hex()


def contract_error(name: str, args: dict[str, Any]) -> LedgerError:
    """Build the typed exception for a decoded contract custom error."""
    shown = {k: _show(v) for k, v in args.items()}
    cls, template = CUSTOM_ERRORS.get(name, (TransactionFailed, name))
    try:
        message = template.format(**shown)
    except (KeyError, IndexError):
        message = f"{name}{shown}"
    err = cls(message, detail={"error": name, "args": shown})
    err.error_name = name
    return err

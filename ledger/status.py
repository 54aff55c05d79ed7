"""The status of one certificate on AttestationRegistry: what `Ledger.status` and the event index answer.

Its own module so that `ledger.index` (which `ledger.client` builds on) needs nothing from `ledger.client`.
"""

from __future__ import annotations

from enum import IntEnum


class CertificateStatus(IntEnum):
    """AttestationRegistry.Status."""

    UNKNOWN = 0
    ANCHORED = 1
    REVOKED = 2
    SUSPENDED = 3

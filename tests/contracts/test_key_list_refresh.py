"""The key list a service caches is re-read in full only when IssuerRegistry logged something since it was read (or
when it is old): a change made by another process shows within the cache's TTL, and an idle registry costs one
log query instead of ~20 EVM calls every TTL."""

from __future__ import annotations

import time

from ledger.kinds import CreditScope, Kind, scopes_mask
from tests.conftest import TAX
from zero_errand.verification import KeyListCache


def test_the_key_list_is_read_again_only_after_the_registry_changed(env):
    cache = KeyListCache(env.ledger, ttl=5.0, full_every=60.0)
    cache.get()
    assert cache._unchanged()  # nothing logged since: kept
    env.ledger.anchor_root(env.tax_key, b"\x01" * 32, Kind.TAX_CERTIFICATE, 1)
    assert cache._unchanged()  # blocks of other contracts change nothing
    env.ledger.set_credit_scopes(env.admin, TAX, scopes_mask([CreditScope.TAX, CreditScope.PENALTY]))
    assert not cache._unchanged()  # IssuerRegistry logged a change: read it again
    cache._load()
    assert cache._unchanged()
    cache._loaded_at = time.monotonic() - 61  # old enough: read again whatever the logs say
    assert not cache._unchanged()

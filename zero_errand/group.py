"""Group commit for certificates: requests that arrive together are issued together, in one transaction
(`store.group.GroupCommit` over `zero_errand.issuance.issue_many`)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from store.group import GroupCommit as _GroupCommit
from zero_errand.issuance import Outcome, Request

IssueBatch = Callable[[Session, list[Request]], list[Outcome]]  # issued at the clock's time, in the session given


class GroupCommit(_GroupCommit[Request, Outcome]):
    """Certificate requests from many callers, issued in shared transactions (store.group)."""

"""The root of every error the domain raises, and the categories the two surfaces map.

Each package keeps its own precise errors (``ledger.errors``, ``store.pii``, ``zero_errand.issuance``,
``credit.ledger``, ...), each derived from `ZelError` and from one category below. The HTTP app maps a category to
a status and a problem document, the `zel` tool to an exit code, each in one handler: a new error only picks
its category. A leaf package: it imports nothing of the project.
"""

from __future__ import annotations

from typing import Any


class ZelError(Exception):
    """Base class of every error the project raises on purpose; `message` is said to the caller as it is."""

    #: The category's slug: the problem type (``/problems/<code>``) and the CLI's error label.
    code = "error"

    def __init__(
        self, message: str, *, code: str | None = None, field: str | None = None, detail: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:  # a precise problem type inside the category (e.g. "idempotency-key-reused")
            self.code = code
        self.field = field  # the input this is about, when one is
        self.detail = detail or {}


class InvalidInput(ZelError):
    """The request itself is wrong: a malformed code, an out-of-range value, a rule it breaks."""

    code = "invalid"


class NotFound(ZelError):
    """What the request names does not exist (or is not the caller's to see)."""

    code = "not-found"


class Conflict(ZelError):
    """The request clashes with the current state: a duplicate, a state change that is not allowed."""

    code = "conflict"


class Forbidden(ZelError):
    """The caller is known but may not do this."""

    code = "forbidden"


class Unavailable(ZelError):
    """A dependency (the chain node, the database) cannot serve now; the same request may succeed later."""

    code = "unavailable"


class ConfigurationError(ZelError):
    """The deployment is not set up for this: a missing key, deployment, setting or data directory."""

    code = "configuration"


__all__ = ["Conflict", "ConfigurationError", "Forbidden", "InvalidInput", "NotFound", "Unavailable", "ZelError"]

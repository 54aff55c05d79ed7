"""The API's identifier types: `Annotated` aliases (as `SessionDep`) for path parameters and body fields.

One source for what a route accepts as a USCC or a citizen ID number, written from `identifiers`; the checks are
pydantic's, so a malformed code is the usual 422 validation problem. They check the shape only: the check
character and the birth date are `identifiers.validate`'s, which the services run where a code must be real.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from identifiers import USCC_CHARS

USCC_PATTERN = f"^{USCC_CHARS}{{18}}$"

Uscc = Annotated[
    str, Field(min_length=18, max_length=18, pattern=USCC_PATTERN, description="Unified social credit code")
]
"""18 characters of the GB 32100 alphabet (no I, O, S, V or Z), upper case."""

IdNumber = Annotated[str, Field(min_length=18, max_length=18)]
"""A citizen ID number's 18 characters; the service normalizes and validates it (GB 11643)."""

"""Authentication: hashed secrets, signed bearer tokens, identity providers, the caller's principal."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Protocol

import jwt
from sqlalchemy import select
from sqlalchemy.orm import Session

import errors
from api.passwords import hash_secret as hash_secret  # re-exported: services and the demo hash here
from api.passwords import needs_rehash
from api.passwords import new_secret as new_secret
from api.passwords import verify_secret as verify_secret
from store.models import ApiClient, Role, User

ISSUER = "zel"
AUDIENCE = "zel-api"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the subject, its role and what it owns (USCC, department, person)."""

    subject: str
    role: Role
    uscc: str | None = None
    department: str | None = None
    person_id: int | None = None


class TokenError(errors.ZelError):
    """A bearer token is missing, malformed, expired or forged."""

    code = "unauthorized"


class TokenService:
    """Issues and checks short-lived HS256 bearer tokens.

    A token that checked out is remembered (its whole text, up to `remembered` tokens) until it expires: a client
    sends the same token with every request, and each request checks it twice (the rate limit's caller, then the
    route's principal), so the HMAC and claim checks run once per token instead of twice per request. Any other
    text, a forged token among them, is a different key and is checked in full."""

    def __init__(self, key: bytes, ttl_seconds: int, remembered: int = 20_000) -> None:
        self.key = key
        self.ttl = ttl_seconds
        self.remembered = remembered
        self._checked: dict[str, tuple[float, Principal]] = {}

    def issue(self, principal: Principal) -> tuple[str, int]:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": principal.subject,
            "role": principal.role.value,
            "iat": now,
            "exp": now + self.ttl,
            "jti": uuid.uuid4().hex,
        }
        for name in ("uscc", "department", "person_id"):
            value = getattr(principal, name)
            if value is not None:
                claims[name] = value
        return jwt.encode(claims, self.key, algorithm="HS256"), self.ttl

    def check(self, token: str) -> Principal:
        hit = self._checked.get(token)
        if hit is not None:
            if time.time() < hit[0]:  # PyJWT's own rule: expired once exp <= now
                return hit[1]
            self._checked.pop(token, None)
            raise TokenError("the access token has expired")
        principal, expires = self._decode(token)
        if len(self._checked) >= self.remembered:  # bounded: a flood of distinct valid tokens starts it afresh
            self._checked.clear()
        self._checked[token] = (expires, principal)
        return principal

    def _decode(self, token: str) -> tuple[Principal, float]:
        try:
            claims = jwt.decode(
                token,
                self.key,
                algorithms=["HS256"],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "role"]},
            )
            principal = Principal(
                claims["sub"],
                Role(claims["role"]),
                claims.get("uscc"),
                claims.get("department"),
                claims.get("person_id"),
            )
            return principal, float(claims["exp"])
        except jwt.ExpiredSignatureError as exc:
            raise TokenError("the access token has expired") from exc
        except (jwt.InvalidTokenError, ValueError, KeyError) as exc:
            raise TokenError("the access token is invalid") from exc


class IdentityProvider(Protocol):
    """Signs people in. A deployment plugs in the government's unified login (OIDC) here."""

    name: str

    def authenticate(self, session: Session, username: str, password: str) -> Principal | None:
        """The principal for valid credentials, or None."""


class DevelopmentIdentityProvider:
    """Username and password checked against `app_user.password_hash` (the embedded default).

    Unknown, disabled and enabled accounts cost the same: one scrypt check each. A hash made at an older cost
    is upgraded in the caller's session on success (the caller commits).
    """

    name = "development"

    def authenticate(self, session: Session, username: str, password: str) -> Principal | None:
        user = session.scalars(select(User).where(User.username == username)).first()
        matches = verify_secret(password, user.password_hash if user is not None else None)
        if user is None or user.disabled or not matches:
            return None
        if needs_rehash(user.password_hash):
            user.password_hash = hash_secret(password)
        return principal_of(user)


def principal_of(user: User) -> Principal:
    return Principal(f"user:{user.username}", Role(user.role), department=user.department, person_id=user.person_id)


def authenticate_client(session: Session, client_id: str, secret: str) -> Principal | None:
    """OAuth2 client credentials: an enterprise's API client, bound to its USCC (one scrypt check, whoever asks;
    an older-cost hash is upgraded in the caller's session on success)."""
    client = session.scalars(select(ApiClient).where(ApiClient.client_id == client_id)).first()
    matches = verify_secret(secret, client.secret_hash if client is not None else None)
    if client is None or client.disabled or not matches:
        return None
    if needs_rehash(client.secret_hash):
        client.secret_hash = hash_secret(secret)
    return Principal(f"client:{client.client_id}", Role.ENTERPRISE, uscc=client.uscc)

"""Authentication: hashed secrets, signed bearer tokens, identity providers, the caller's principal."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Protocol

import jwt
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.store.models import ApiClient, Role, User

ISSUER = "zel"
AUDIENCE = "zel-api"
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_secret(secret: str) -> str:
    """A salted scrypt hash: `scrypt$n$r$p$salt$hash` (secrets are never stored in the clear)."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, dklen=32, **_SCRYPT)
    return "scrypt${n}${r}${p}$".format(**_SCRYPT) + base64.b64encode(salt).decode() + "$" + \
        base64.b64encode(digest).decode()


def verify_secret(secret: str, stored: str | None) -> bool:
    if not stored:
        return False
    try:
        _, n, r, p, salt, digest = stored.split("$")
        got = hashlib.scrypt(secret.encode(), salt=base64.b64decode(salt), dklen=32, n=int(n), r=int(r), p=int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, base64.b64decode(digest))


def new_secret() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the subject, its role and what it owns (USCC, department, person)."""

    subject: str
    role: Role
    uscc: str | None = None
    department: str | None = None
    person_id: int | None = None


class TokenError(Exception):
    """A bearer token is missing, malformed, expired or forged."""


class TokenService:
    """Issues and checks short-lived HS256 bearer tokens."""

    def __init__(self, key: bytes, ttl_seconds: int) -> None:
        self.key = key
        self.ttl = ttl_seconds

    def issue(self, principal: Principal) -> tuple[str, int]:
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": principal.subject, "role": principal.role.value,
                  "iat": now, "exp": now + self.ttl, "jti": uuid.uuid4().hex}
        for name in ("uscc", "department", "person_id"):
            value = getattr(principal, name)
            if value is not None:
                claims[name] = value
        return jwt.encode(claims, self.key, algorithm="HS256"), self.ttl

    def check(self, token: str) -> Principal:
        try:
            claims = jwt.decode(token, self.key, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER,
                                options={"require": ["exp", "iat", "sub", "role"]})
            return Principal(claims["sub"], Role(claims["role"]), claims.get("uscc"), claims.get("department"),
                             claims.get("person_id"))
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
    """Username and password checked against `app_user.password_hash` (the embedded default)."""

    name = "development"

    def authenticate(self, session: Session, username: str, password: str) -> Principal | None:
        user = session.scalars(select(User).where(User.username == username)).first()
        if user is None:
            verify_secret(password, hash_secret("timing-equaliser"))
            return None
        if user.disabled or not verify_secret(password, user.password_hash):
            return None
        return principal_of(user)


def principal_of(user: User) -> Principal:
    return Principal(f"user:{user.username}", Role(user.role), department=user.department, person_id=user.person_id)


def authenticate_client(session: Session, client_id: str, secret: str) -> Principal | None:
    """OAuth2 client credentials: an enterprise's API client, bound to its USCC."""
    client = session.scalars(select(ApiClient).where(ApiClient.client_id == client_id)).first()
    if client is None or client.disabled or not verify_secret(secret, client.secret_hash):
        return None
    return Principal(f"client:{client.client_id}", Role.ENTERPRISE, uscc=client.uscc)

"""Identity providers beyond the development one: the district's unified login over OpenID Connect.

Production signs people in through the government's unified identity service (统一身份认证): the person signs in
there, the page receives an ID token, and `POST /v1/auth/oidc` exchanges it for our short-lived bearer token.
The token must be signed by a key of the issuer's JWKS, name the configured issuer and audience, and be
current; its `sub` (the issuer's stable subject id) must be the username of an enabled user of ours, whose role
and department come from our store, never from the token.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from typing import Any

import jwt
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.security import Principal, principal_of
from ledger.errors import ConfigurationError
from store.models import User

log = logging.getLogger(__name__)
ALGORITHMS = ["RS256", "ES256", "PS256"]  # asymmetric only: an HS256 token would be signed with a shared secret


class OidcIdentityProvider:
    """Checks ID tokens of one OpenID Connect issuer against its published keys."""

    name = "oidc"

    def __init__(
        self,
        issuer: str,
        audience: str,
        jwks_url: str | None = None,
        *,
        jwks: dict[str, Any] | None = None,
        leeway: int = 30,
    ) -> None:
        """`jwks` (a JWK Set) replaces fetching the issuer's keys, for an air-gapped deployment or a test."""
        if not issuer or not audience:
            raise ConfigurationError("the OIDC identity provider needs an issuer and an audience")
        self.issuer, self.audience, self.leeway = issuer.rstrip("/"), audience, leeway
        self._static = jwt.PyJWKSet.from_dict(jwks) if jwks is not None else None
        self._jwks_url = jwks_url
        self._client: jwt.PyJWKClient | None = None  # made at the first token: start-up needs no network

    def _discover_jwks_url(self) -> str:
        url = f"{self.issuer}/.well-known/openid-configuration"
        try:
            with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - an https URL we were configured with
                return str(json.load(response)["jwks_uri"])
        except (OSError, ValueError, KeyError) as exc:
            raise ConfigurationError(f"cannot read the OIDC discovery document {url}: {exc}") from exc

    def _signing_key(self, token: str) -> Any:
        if self._static is None:
            if self._client is None:
                self._client = jwt.PyJWKClient(
                    self._jwks_url or self._discover_jwks_url(), cache_keys=True, lifespan=300
                )
            return self._client.get_signing_key_from_jwt(token).key
        kid = jwt.get_unverified_header(token).get("kid")
        for key in self._static.keys:
            if kid is None or key.key_id == kid:
                return key.key
        raise jwt.InvalidTokenError("no key of the issuer matches the token's key id")

    def claims(self, token: str) -> dict[str, Any] | None:
        """The token's verified claims, or None for any token we must not accept."""
        try:
            return jwt.decode(
                token,
                self._signing_key(token),
                algorithms=ALGORITHMS,
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except ConfigurationError as exc:  # the issuer's keys cannot be read: nobody can sign in, say so
            log.error("OIDC sign-in refused: %s", exc)
            return None
        except (jwt.PyJWTError, ValueError):
            return None

    def authenticate_token(self, session: Session, token: str) -> Principal | None:
        """The principal of a valid ID token naming an enabled user of ours, or None."""
        claims = self.claims(token)
        if claims is None:
            return None
        # The subject, never `preferred_username`: OIDC Core says only `sub` (per issuer) is stable and unique, and
        # many providers let people choose their display name. Users are created with the login's subject as
        # their username.
        user = session.scalars(select(User).where(User.username == str(claims["sub"]))).first()
        if user is None or user.disabled:
            return None
        return principal_of(user)

    def authenticate(self, session: Session, username: str, password: str) -> Principal | None:
        """Password sign-in is not offered: people sign in at the unified login."""
        return None

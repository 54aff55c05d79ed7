"""Admin operations shared by the API and the CLI; each writes its audit entry in the same transaction."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.security import Principal, hash_secret, new_secret
from store import audit
from store.models import ApiClient, Enterprise, Role, User
from store.pii import Pii
from zero_errand.people import DataError, add_enterprise, add_person, find_person

ServiceError = DataError  # one error type for the store's refusals, whoever calls


def add_user(
    session: Session,
    pii: Pii,
    actor: Principal,
    *,
    username: str,
    role: Role,
    display_name: str = "",
    department: str | None = None,
    id_number: str | None = None,
    name: str | None = None,
    phone: str | None = None,
    password: str | None = None,
) -> tuple[User, str | None]:
    """Create a user; returns it and the generated development password (None if one was given)."""
    if session.scalars(select(User).where(User.username == username)).first():
        raise ServiceError("conflict", f"user {username!r} exists", "username")
    if role in (Role.INSPECTOR, Role.OFFICIAL) and not department:
        raise ServiceError("invalid", f"a {role.value} belongs to a department", "department")
    if role == Role.ENTERPRISE:
        raise ServiceError("invalid", "enterprises sign in as API clients (zel clients add)", "role")
    person_id = None
    if role == Role.CITIZEN:
        if not id_number or not name:
            raise ServiceError("invalid", "a citizen needs an ID number and a name", "id_number")
        person = find_person(session, pii, id_number.strip().upper()) or add_person(
            session, pii, id_number, name, phone
        )
        person_id = person.id
    generated = None
    if password is None:
        password = generated = secrets.token_urlsafe(12)
    user = User(
        username=username,
        role=role.value,
        display_name=display_name or username,
        department=department,
        person_id=person_id,
        password_hash=hash_secret(password),
    )
    session.add(user)
    session.flush()
    audit.append(
        session,
        actor=actor.subject,
        role=actor.role.value,
        action="user.add",
        target=username,
        detail={"role": role.value, "department": department},
    )
    return user, generated


def set_user_disabled(session: Session, actor: Principal, username: str, disabled: bool = True) -> User:
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise ServiceError("not-found", f"no user {username!r}")
    user.disabled = disabled
    audit.append(
        session,
        actor=actor.subject,
        role=actor.role.value,
        action="user.disable" if disabled else "user.enable",
        target=username,
    )
    return user


def add_client(
    session: Session, actor: Principal, *, uscc: str, name: str, enterprise_name: str | None = None
) -> tuple[ApiClient, str]:
    """Register an enterprise API client; returns it and its secret (shown once, stored hashed)."""
    uscc = uscc.strip().upper()
    enterprise = session.get(Enterprise, uscc)
    if enterprise is None:
        if not enterprise_name:
            raise ServiceError("not-found", f"no enterprise {uscc}: give its name to register it", "uscc")
        enterprise = add_enterprise(session, uscc, enterprise_name)
    secret = new_secret()
    client = ApiClient(
        client_id="ent-" + secrets.token_hex(8), secret_hash=hash_secret(secret), uscc=enterprise.uscc, name=name
    )
    session.add(client)
    session.flush()
    audit.append(
        session,
        actor=actor.subject,
        role=actor.role.value,
        action="client.add",
        target=client.client_id,
        detail={"uscc": uscc},
    )
    return client, secret


def set_client_disabled(session: Session, actor: Principal, client_id: str, disabled: bool = True) -> ApiClient:
    client = session.scalars(select(ApiClient).where(ApiClient.client_id == client_id)).first()
    if client is None:
        raise ServiceError("not-found", f"no API client {client_id!r}")
    client.disabled = disabled
    audit.append(session, actor=actor.subject, role=actor.role.value, action="client.disable", target=client_id)
    return client

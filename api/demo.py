"""`zel serve --demo`: demo departments, people, enterprises, users and API clients."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.security import Principal, hash_secret
from api.services import add_client, add_user
from zero_errand.people import add_enterprise, find_person
from credit.codes import id_check_char, uscc_check_char
from ledger.store.models import ApiClient, Role, User
from ledger.store.pii import Pii

SEEDER = Principal("system:demo-seed", Role.ADMIN)


def demo_id(first17: str) -> str:
    return first17 + id_check_char(first17)


def demo_uscc(first17: str) -> str:
    return first17 + uscc_check_char(first17)


CITIZENS = [("citizen1", "陈志明", demo_id("44060419850312201")), ("citizen2", "黄丽华", demo_id("44060419920718302"))]
ENTERPRISES = [(demo_uscc("91440604MA51XK0A1"), "佛山市禅城区明发陶瓷有限公司"),
               (demo_uscc("91440604MA52LT3B7"), "佛山市禅城区顺和五金制品有限公司")]
STAFF = [("admin", Role.ADMIN, None, "区政务服务数据管理局"), ("tax-official", Role.OFFICIAL, "tax.440604", "税务局经办人"),
         ("si-official", Role.OFFICIAL, "si.440604", "社保局经办人"),
         ("inspector1", Role.INSPECTOR, "amr.440604", "市场监管检查员")]


@dataclass
class DemoCredentials:
    users: list[tuple[str, str, str]]  # username, role, password
    clients: list[tuple[str, str, str]]  # client_id, secret, uscc


def seed(session: Session, pii: Pii) -> DemoCredentials:
    """Create the demo data, or reset its passwords and secrets if it exists; returns what to print."""
    users: list[tuple[str, str, str]] = []
    for username, role, dept, title in STAFF:
        users.append((username, role.value, _ensure_user(session, pii, username, role, title, department=dept)))
    for username, name, id_number in CITIZENS:
        users.append((username, "citizen", _ensure_user(session, pii, username, Role.CITIZEN, name,
                                                        id_number=id_number, name=name)))
    clients = []
    for uscc, name in ENTERPRISES:
        add_enterprise(session, uscc, name)
        for old in session.scalars(select(ApiClient).where(ApiClient.uscc == uscc, ApiClient.name == "demo")):
            old.disabled = True
        client, secret = add_client(session, SEEDER, uscc=uscc, name="demo")
        clients.append((client.client_id, secret, uscc))
    return DemoCredentials(users, clients)


def _ensure_user(session: Session, pii: Pii, username: str, role: Role, title: str, **extra: str | None) -> str:
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        _, password = add_user(session, pii, SEEDER, username=username, role=role, display_name=title, **extra)
        return password or ""
    from api.security import new_secret

    password = new_secret()[:16]
    user.password_hash, user.disabled = hash_secret(password), False
    return password


def describe(creds: DemoCredentials, base_url: str) -> str:
    lines = ["Demo accounts (development identity provider; passwords change on every --demo start):"]
    lines += [f"  {u:<14} {r:<10} password {p}" for u, r, p in creds.users]
    lines.append("Demo enterprise API clients (OAuth2 client credentials):")
    lines += [f"  {c}  secret {s}  USCC {u}" for c, s, u in creds.clients]
    user, _, pw = creds.users[0]
    cid, sec, _ = creds.clients[0]
    lines += [
        "Try:",
        f"  curl -s {base_url}/readyz",
        f"  curl -s -X POST {base_url}/v1/auth/login -H 'Content-Type: application/json' "
        f"-d '{{\"username\":\"{user}\",\"password\":\"{pw}\"}}'",
        f"  curl -s -X POST {base_url}/v1/auth/token -d grant_type=client_credentials -d client_id={cid} "
        f"-d client_secret={sec}",
        f"  API docs: {base_url}/docs",
    ]
    return "\n".join(lines)


__all__ = ["seed", "describe", "find_person", "CITIZENS", "ENTERPRISES"]

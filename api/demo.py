"""`zel serve --demo`: demo departments, people, enterprises, users and API clients."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import errors
from api.security import Principal, hash_secret
from api.services import add_client, add_user
from ledger.departments import MARKET_SUPERVISION, SOCIAL_INSURANCE, TAX
from store.db import transaction
from store.models import ApiClient, Role, User
from store.pii import Pii
from zero_errand.people import find_person
from zero_errand.seed import seed_data

SEEDER = Principal("system:demo-seed", Role.ADMIN)


STAFF = [
    ("admin", Role.ADMIN, None, "区政务服务数据管理局"),
    ("tax-official", Role.OFFICIAL, TAX.id, "税务局经办人"),
    ("si-official", Role.OFFICIAL, SOCIAL_INSURANCE.id, "社保局经办人"),
    ("amr-official", Role.OFFICIAL, MARKET_SUPERVISION.id, "市场监管局经办人"),
    ("inspector1", Role.INSPECTOR, MARKET_SUPERVISION.id, "市场监管检查员"),
]


@dataclass
class DemoCredentials:
    users: list[tuple[str, str, str]]  # username, role, password
    clients: list[tuple[str, str, str]]  # client_id, secret, uscc
    people: list[str]  # ID numbers of the seeded people (the first two are citizen1 and citizen2)
    usccs: list[str]  # the seeded enterprises (the first two have demo API clients)
    codes: list[str] = field(default_factory=list)  # their one codes (一企一码), once the chain is open
    standings: list[DemoStanding] = field(default_factory=list)  # their credit, once seed_credit has run
    attestations: list[tuple[str, str, str]] = field(default_factory=list)  # title, number, verify URL


@dataclass(frozen=True)
class DemoStanding:
    """A demo enterprise's credit as the public profile shows it now, for the banner."""

    uscc: str
    name: str
    grade: str
    red_list: bool
    black_list: bool


DEMO_SEED = 2026


def seed(session: Session, pii: Pii) -> DemoCredentials:
    """Create the demo data, or reset its passwords and secrets if it exists; returns what to print.

    People and enterprises come from `zel seed` data (seed 2026), so demo users have records to certify.
    """
    data = seed_data(session, pii, people=8, enterprises=3, seed=DEMO_SEED)
    users: list[tuple[str, str, str]] = []
    for username, role, dept, title in STAFF:
        users.append((username, role.value, _ensure_user(session, pii, username, role, title, department=dept)))
    for username, id_number in zip(("citizen1", "citizen2"), data.people, strict=False):
        person = find_person(session, pii, id_number)
        assert person is not None  # seed_data has just stored them
        name = pii.decrypt(person.name_enc, "person.name")
        users.append(
            (
                username,
                "citizen",
                _ensure_user(session, pii, username, Role.CITIZEN, name, id_number=id_number, name=name),
            )
        )
    clients = []
    for uscc in data.enterprises[:2]:
        for old in session.scalars(select(ApiClient).where(ApiClient.uscc == uscc, ApiClient.name == "demo")):
            old.disabled = True
        client, secret = add_client(session, SEEDER, uscc=uscc, name="demo")
        clients.append((client.client_id, secret, uscc))
    return DemoCredentials(users, clients, data.people, data.enterprises)


def seed_credit(credit: Any, session: Session, usccs: list[str], today: date | None = None) -> list[DemoStanding]:
    """Give the demo enterprises a credit history, once: a commended one inspected last year after a scan of its
    code (class A, left alone), one with tax arrears and a general penalty (class C, due for inspection), one on
    the red list. Returns their standings as graded now (for the banner: `DemoCredentials.standings`)."""
    from credit import inspections, workflows
    from store.models import CreditRecord

    if session.scalars(select(CreditRecord.id).where(CreditRecord.uscc.in_(usccs)).limit(1)).first() is not None:
        return standings(credit, session, usccs)
    today = today or date.today()
    clean, arrears, red = usccs[:3]
    actor, amr, tax = SEEDER.subject, MARKET_SUPERVISION.id, TAX.id

    def record(uscc: str, type: str, department: str, days_ago: int, summary: str, reference: str) -> None:
        workflows.record(
            credit,
            session,
            uscc=uscc,
            type=type,
            department=department,
            decided_on=today - timedelta(days=days_ago),
            summary=summary,
            reference=reference,
            actor=actor,
        )

    record(clean, "commendation", amr, 200, "守合同重信用企业", "禅市监〔2026〕12号")
    # scan to enter (扫码入企): inspector1 scanned the code a few minutes before the visit began
    began = datetime.combine(today - timedelta(days=400), time(9, 30), tzinfo=UTC)
    entered = inspections.record_scan(
        credit,
        session,
        uscc=clean,
        inspector="inspector1",
        department=amr,
        at=began - timedelta(minutes=3),
        actor=actor,
    )
    inspections.record_inspection(
        credit,
        session,
        uscc=clean,
        departments=[amr, tax],
        inspectors=["inspector1"],
        items=[{"item": "营业执照公示", "ok": True, "note": ""}],
        findings="未发现问题",
        result="pass",
        evidence=[],
        started_at=began,
        ended_at=began + timedelta(hours=1),
        scan=entered.uid,
        actor=actor,
    )
    record(arrears, "tax_arrears", tax, 45, "欠缴增值税 12,000.00 元", "禅税通〔2026〕31号")
    record(arrears, "penalty_general", amr, 150, "未按规定公示年度报告", "禅市监罚〔2026〕88号")
    # Red lists and commendations are market supervision's (its credit scopes: ledger.departments).
    workflows.list_entry(
        credit,
        session,
        uscc=red,
        list_name="red",
        department=amr,
        start_on=today - timedelta(days=30),
        end_on=today + timedelta(days=335),
        reason="守合同重信用企业",
        reference="禅市监〔2026〕5号",
        actor=actor,
    )
    record(red, "commendation", amr, 30, "守合同重信用企业", "禅市监〔2026〕5号")
    return standings(credit, session, usccs)


def standings(credit: Any, session: Session, usccs: list[str]) -> list[DemoStanding]:
    """The enterprises' public standing now: their class and lists, computed by the grading rules."""
    from credit.profile import standing

    out = []
    for uscc in usccs:
        profile = standing(credit, session, uscc, "public")
        if profile is not None:
            out.append(
                DemoStanding(
                    uscc,
                    profile["name"],
                    profile["grade"]["grade"],
                    profile["flags"]["red_list"],
                    profile["flags"]["black_list"],
                )
            )
    return out


def _ensure_user(session: Session, pii: Pii, username: str, role: Role, title: str, **extra: str | None) -> str:
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        _, password = add_user(session, pii, SEEDER, username=username, role=role, display_name=title, **extra)
        return password or ""
    from api.security import new_secret

    password = new_secret()[:16]
    user.password_hash, user.disabled = hash_secret(password), False
    return password


def demo_attestations(ctx: Any, person: str) -> list[tuple[str, str, str]]:
    """One attestation of each demo kind registered from a schema file (`kinds/files/`, registered by
    `zel issuer provision --demo`) for the citizen `person`: (title, number, verify URL) each."""
    from eth_utils import keccak

    from zero_errand.verification import url_of

    today = date.today()
    wanted = {
        "residence-proof": {
            "address": "禅城区祖庙路18号",
            "since": str(today - timedelta(days=3 * 365)),
            "purpose": "school",
        },
        "school-enrolment-receipt": {
            "school": "禅城区实验小学",
            "grade": "primary-1",
            "received_on": str(today),
            "complete": True,
            "household_register": "0x" + keccak(text="demo household register").hex(),
            "note": "材料已核验",
        },
    }
    service, out = ctx.require_certificates(), []
    for slug, values in wanted.items():
        try:
            with transaction(ctx.sessions) as session:
                cert = service.attest(
                    session, kind=slug, subject=person, fields=values, actor=SEEDER.subject, role="admin"
                )
                title = service.kinds.latest(slug).kind.title
                out.append((f"{title.zh} {title.en}", cert.number, url_of(cert, ctx.settings.public_url)))
        except errors.NotFound:  # not registered here (a data directory provisioned before issue 19)
            continue
    return out


def describe(creds: DemoCredentials, base_url: str) -> str:
    lines = ["Demo accounts (development identity provider; passwords change on every --demo start):"]
    lines += [f"  {u:<14} {r:<10} password {p}" for u, r, p in creds.users]
    lines.append("Demo enterprise API clients (OAuth2 client credentials):")
    lines += [f"  {c}  secret {s}  USCC {u}" for c, s, u in creds.clients]
    lines.append(
        "Pages: verify a certificate 证明核验 " + f"{base_url}/verify · inspector 一码检查 {base_url}/inspect "
        "(sign in as inspector1)"
    )
    if creds.codes:
        lines.append("One codes of the demo enterprises (一企一码; print them as QR codes with `zel credit qr`):")
        lines += [f"  {code}" for code in creds.codes]
    if creds.standings:
        lines.append("Demo enterprises' credit (信用等级, as graded now; the inspector page shows it on a scan):")
        for s in creds.standings:
            lists = "".join(
                f"  {name}"
                for listed, name in ((s.red_list, "red list 红名单"), (s.black_list, "black list 黑名单"))
                if listed
            )
            lines.append(f"  {s.uscc}  class {s.grade}  {s.name}{lists}")
    if creds.attestations:
        lines.append("Attestations of kinds registered from schema files (证明种类; anchored within seconds):")
        lines += [f"  {title}  {number}  {url}" for title, number, url in creds.attestations]
    user, _, pw = creds.users[0]
    cid, sec, _ = creds.clients[0]
    lines += [
        "Try:",
        f"  curl -s {base_url}/readyz",
        f"  curl -s -X POST {base_url}/v1/auth/login -H 'Content-Type: application/json' "
        f'-d \'{{"username":"{user}","password":"{pw}"}}\'',
        f"  curl -s -X POST {base_url}/v1/auth/token -d grant_type=client_credentials -d client_id={cid} "
        f"-d client_secret={sec}",
        f"  API docs: {base_url}/docs",
    ]
    return "\n".join(lines)

"""Attestations of kinds registered from schema files, issued without code (issue 19): `zel attest issue` checks the
fields against the schema, the anchor worker batches each schema apart through `anchorSchemaRoot`, the QR code
decodes with a real decoder and verifies VALID online and offline (the trust list carries the kinds), revocation
reads REVOKED. The attacks: an altered field, a payload moved to another kind, a kind only the store knows (never
registered on chain), another department revoking."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from api.cli import app
from api.provisioning import provision_deployment
from api.settings import Settings
from kinds import schema as ks
from kinds.schema import load
from ledger.anchor import SCHEMA_KIND_BASE
from ledger.client import Ledger
from qr import attestation
from qr.payload import payload_from_text, verify_url
from store.db import make_engine, session_factory
from store.models import AnchorBatch, Certificate, KindSchemaRecord
from tests.platform_fixtures import KEYSTORE_PASSWORD_VARS

FILES = Path(ks.__file__).parent / "files"
LICENCE = {
    "slug": "licence-check-receipt",
    "version": 1,
    "title": {"zh": "营业执照核验回执", "en": "Business licence check receipt"},
    "department": "amr.440604",
    "subject": "enterprise",
    "validity_days": 30,
    "fields": [
        {"name": "checked_on", "type": "date", "label": {"zh": "核验日期", "en": "Checked on"}, "in_qr": True},
        {
            "name": "outcome",
            "type": "enum",
            "label": {"zh": "结果", "en": "Outcome"},
            "in_qr": True,
            "values": {"match": {"zh": "一致", "en": "Matches"}, "mismatch": {"zh": "不一致", "en": "Does not match"}},
        },
        {"name": "note", "type": "string", "max_length": 20, "label": {"zh": "备注", "en": "Note"}, "in_qr": False},
    ],
}


def _zel(data: Path, *args: str):  # noqa: ANN202 - click's Result
    env = {v: None for v in KEYSTORE_PASSWORD_VARS}
    return CliRunner().invoke(app, [*args, "--data-dir", str(data)], env=env)


def _anchor(data: Path) -> None:
    """`zel anchor run --once` in its own process: the command keeps its context (and the embedded chain) open
    until its process exits, as a worker does."""
    env = {k: v for k, v in os.environ.items() if k not in KEYSTORE_PASSWORD_VARS}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "zel"), "anchor", "run", "--once", "--data-dir", str(data)],
        capture_output=True, text=True, env=env, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0 and "anchored" in done.stdout, done.stderr


def _ok(data: Path, *args: str) -> dict:
    result = _zel(data, *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def district(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A provisioned development data directory with seeded subjects and two registered kinds."""
    root = tmp_path_factory.mktemp("attest")
    data = root / "data"
    saved = {v: os.environ.pop(v) for v in KEYSTORE_PASSWORD_VARS if v in os.environ}
    try:
        provision_deployment(Settings(data_dir=data), development=True)
        seeded = _ok(data, "seed", "--people", "2", "--enterprises", "2", "--seed", "5")
        (root / "licence.json").write_text(json.dumps(LICENCE, ensure_ascii=False))
        for path in (FILES / "residence-proof.json", root / "licence.json"):
            _ok(data, "kinds", "register", str(path))
    finally:
        os.environ.update(saved)
    return {"data": data, "root": root, "person": seeded["people"][0], "firm": seeded["enterprises"][0]}


def _residence(district: dict, **fields: str) -> dict:
    given = {"address": "禅城区祖庙路1号", "since": "2020-01-02", "purpose": "school", **fields}
    args = [a for name, value in given.items() for a in ("--field", f"{name}={value}")]
    return _ok(district["data"], "attest", "issue", "--kind", "residence-proof", "--subject", district["person"], *args)


def _sessions(district: dict):  # noqa: ANN202
    return session_factory(make_engine(f"sqlite:///{district['data'] / 'zel.sqlite'}"))


def test_an_attestation_is_issued_anchored_by_schema_and_verifies_from_its_qr_image(district: dict) -> None:
    data = district["data"]
    issued = _residence(district)
    assert issued["state"] == "ISSUED" and issued["kind"] == "residence-proof.v1" and issued["number"].startswith("9")
    assert issued["department"] == "ps.440604" and issued["content"]["header"]["subject"].startswith("4406****")
    licence = _ok(
        data, "attest", "issue", "--kind", "licence-check-receipt", "--subject", district["firm"],
        "--field", "checked_on=2026-11-30", "--field", "outcome=match", "--field", "note=窗口核验",
    )  # fmt: skip
    assert licence["content"]["values"] == {"checked_on": "2026-11-30", "outcome": "match"}  # the note stays off QR
    assert licence["content"]["header"]["subjectName"]  # an enterprise attestation names the enterprise
    _anchor(data)
    with _sessions(district)() as s:
        batches = {
            number: s.get(AnchorBatch, batch_id)
            for number, batch_id in s.execute(
                select(Certificate.number, Certificate.batch_id).where(
                    Certificate.number.in_([issued["number"], licence["number"]])
                )
            )
        }
        indexes = dict(s.execute(select(KindSchemaRecord.slug, KindSchemaRecord.chain_index)).tuples().all())
    assert batches[issued["number"]].id != batches[licence["number"]].id  # each schema in its own batch
    assert batches[issued["number"]].kind == SCHEMA_KIND_BASE + indexes["residence-proof"]
    with Ledger.open(Settings(data_dir=data).chain()) as ledger:  # the chain knows each batch's schema
        root = bytes.fromhex(batches[licence["number"]].root[2:])
        assert ledger.schema_of(root) == indexes["licence-check-receipt"]
    image = district["root"] / "residence.png"
    assert _zel(data, "cert", "qr", issued["number"], "-o", str(image)).exit_code == 0
    verdict = json.loads(_zel(data, "verify", str(image), "--json").stdout)  # decoded by zxing-cpp
    assert verdict["status"] == "VALID", verdict
    shown = verdict["certificate"]
    assert shown["kind_zh"] == "居住证明" and shown["department"] == "ps.440604"
    purpose = next(f for f in shown["fields"] if f["name"] == "purpose")
    assert (purpose["label_zh"], purpose["value_zh"], purpose["value_en"]) == ("用途", "子女入学", "School enrolment")

    # The PDF is laid out from the schema: its title, each field's labels and values, the detail the QR code leaves out.
    pdf = district["root"] / "licence.pdf"
    assert _zel(data, "cert", "pdf", licence["number"], "-o", str(pdf)).exit_code == 0
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    for shown_text in (
        "营业执照核验回执",
        "Business licence check receipt",
        "核验日期",
        "一致 Matches",
        "备注 Note",
        "窗口核验",
    ):
        assert shown_text in text, (shown_text, text)
    assert licence["number"] in text


def test_field_errors_name_the_field_and_the_rule(district: dict) -> None:
    data = district["data"]
    base = ["attest", "issue", "--kind", "residence-proof", "--subject", district["person"]]
    good = ["--field", "address=x", "--field", "since=2020-01-02"]
    cases = {
        "purpose": [*good, "--field", "purpose=holiday"],
        "since": ["--field", "address=x", "--field", "since=2020-13-40", "--field", "purpose=work"],
        "colour": [*good, "--field", "purpose=work", "--field", "colour=red"],
    }
    for field, args in cases.items():
        result = _zel(data, *base, *args)
        assert result.exit_code == 2 and field in result.stderr, (field, result.output)
    missing = _zel(data, *base, "--field", "address=x")
    assert missing.exit_code == 2 and "since" in missing.stderr
    unknown = _zel(data, "attest", "issue", "--kind", "no-such-kind", "--subject", district["person"])
    assert unknown.exit_code == 2 and "residence-proof" in unknown.stderr  # it names the kinds there are
    wrong_subject = _zel(data, *base[:-1], district["firm"], *cases["purpose"][:4], "--field", "purpose=work")
    assert wrong_subject.exit_code == 2 and "subject" in wrong_subject.stderr


def _forge(text: str, district: dict, change) -> str:  # noqa: ANN001
    """The verify URL of `text`'s attestation with `change` applied to (kind, header, values), re-encoded with the
    original signature."""
    with _sessions(district)() as s:
        kinds = {attestation.schema_id(load(b)): load(b) for b in s.scalars(select(KindSchemaRecord.body))}
    att = attestation.decode(payload_from_text(text), kinds)
    kind, header, values = change(att.kind, dict(att.header), dict(att.values), kinds)
    return verify_url("http://127.0.0.1:8000", attestation.encode(kind, header, values, att.signature))


def test_an_altered_or_moved_attestation_is_invalid(district: dict) -> None:
    data = district["data"]
    issued = _residence(district, purpose="work")
    _anchor(data)
    assert json.loads(_zel(data, "verify", issued["verify_url"], "--json").stdout)["status"] == "VALID"

    def other_purpose(kind, header, values, kinds):  # noqa: ANN001, ANN202
        return kind, header, {**values, "purpose": "school"}

    def later_expiry(kind, header, values, kinds):  # noqa: ANN001, ANN202
        return kind, {**header, "expiresOn": header["expiresOn"] + 365}, values

    for change in (other_purpose, later_expiry):
        verdict = json.loads(_zel(data, "verify", _forge(issued["verify_url"], district, change), "--json").stdout)
        assert verdict["status"] == "INVALID" and verdict["checks"][-1]["name"] == "signature", change.__name__


def test_a_kind_only_the_store_knows_is_not_trusted(district: dict) -> None:
    """Someone with the database writes a kind file of their own, marked registered: it is not on chain, so the key
    list leaves it out and its attestations read as an unknown kind, whoever signed them."""
    data = district["data"]
    fake = load(json.dumps({**json.loads((FILES / "residence-proof.json").read_text()), "slug": "forged-proof"}))
    with _sessions(district)() as s, s.begin():
        s.add(
            KindSchemaRecord(
                digest="0x" + fake.digest.hex(),
                slug=fake.slug,
                version=1,
                department=fake.department,
                body=ks.canonical(fake.source).decode(),
                chain_index=1,
            )
        )
    issued = _residence(district)

    def moved(kind, header, values, kinds):  # noqa: ANN001, ANN202
        return fake, header, values

    verdict = json.loads(_zel(data, "verify", _forge(issued["verify_url"], district, moved), "--json").stdout)
    assert verdict["status"] == "INVALID" and "unknown kind" in verdict["checks"][0]["en"]


def test_revocation_by_the_kinds_department_only_and_offline_verification(
    district: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = district["data"]
    issued = _residence(district)
    _anchor(data)
    trust = district["root"] / "trust.json"
    assert _zel(data, "trustlist", "export", "-o", str(trust)).exit_code == 0
    offline = _zel(data, "verify", issued["verify_url"], "--offline", "--trustlist", str(trust), "--json")
    assert json.loads(offline.stdout)["status"] == "VALID", offline.output  # the list carries the kind's schema

    from api.context import build_context
    from store.db import transaction
    from zero_errand.issuance import IssuanceError

    for var in KEYSTORE_PASSWORD_VARS:  # the data directory's development password files, as the CLI reads them
        monkeypatch.delenv(var, raising=False)
    with build_context(Settings(data_dir=data)) as ctx, transaction(ctx.sessions) as session:
        with pytest.raises(IssuanceError, match="only the issuing department"):
            ctx.require_certificates().change_status(
                session, issued["number"], "revoke", department="tax.440604", reason=1, note="", actor="test"
            )
    revoked = _zel(data, "cert", "revoke", issued["number"], "--reason", "data corrected by the bureau")
    assert revoked.exit_code == 0, revoked.output
    verdict = json.loads(_zel(data, "verify", issued["verify_url"], "--json").stdout)
    assert verdict["status"] == "REVOKED"

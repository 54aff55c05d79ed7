"""`zel kinds check`: a schema file's summary, or every rule it breaks with its place (exit 2); `zel kinds register` and
`list`: kinds on chain, registered by the district admin only, refusals naming the field and the rule."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from kinds import schema as ks
from kinds.schema import load
from tests.platform_fixtures import KEYSTORE_PASSWORD_VARS

FILES = Path(ks.__file__).parent / "files"


def test_a_good_file_is_summarised_with_its_digest() -> None:
    path = FILES / "school-enrolment-receipt.json"
    result = CliRunner().invoke(app, ["kinds", "check", str(path), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["slug"] == "school-enrolment-receipt" and summary["department"] == "edu.440604"
    assert summary["schema_digest"] == "0x" + load(path.read_text()).digest.hex()
    assert [f["in_qr"] for f in summary["fields"]] == [True, True, True, True, False, False]
    assert summary["qr_version_at_longest"] <= 13
    table = CliRunner().invoke(app, ["kinds", "check", str(path)])
    assert table.exit_code == 0 and "入学材料回执" in table.stdout and "no (detail)" in table.stdout


def test_a_broken_file_lists_every_rule_and_exits_2(tmp_path: Path) -> None:
    source = json.loads((FILES / "residence-proof.json").read_text())
    source["fields"][0].pop("max_length")
    source["fields"][2]["type"] = "choice"
    source["subject"] = "company"
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(source, ensure_ascii=False))
    result = CliRunner().invoke(app, ["kinds", "check", str(broken), "--json"])
    assert result.exit_code == 2
    wheres = {p["where"] for p in json.loads(result.stdout)["problems"]}
    assert wheres == {"fields[0].max_length", "fields[2].type", "subject"}
    said = CliRunner().invoke(app, ["kinds", "check", str(broken)])
    assert said.exit_code == 2
    assert "fields[0].max_length: missing" in said.stderr and "breaks 3 rules" in said.stderr
    (tmp_path / "not.json").write_text("{")
    assert CliRunner().invoke(app, ["kinds", "check", str(tmp_path / "not.json")]).exit_code == 2


def test_a_kind_whose_qr_code_would_not_fit_is_refused_with_what_to_change(tmp_path: Path) -> None:
    source = json.loads((FILES / "residence-proof.json").read_text())
    source["fields"] = [
        {
            "name": f"line_{n}",
            "type": "string",
            "max_length": 40,
            "label": {"zh": "地址", "en": "Address"},
            "in_qr": True,
        }
        for n in range(3)
    ]
    wide = tmp_path / "wide.json"
    wide.write_text(json.dumps(source, ensure_ascii=False))
    result = CliRunner().invoke(app, ["kinds", "check", str(wide), "--json", "--url", "https://zwfw.chancheng.gov.cn"])
    assert result.exit_code == 2
    (problem,) = json.loads(result.stdout)["problems"]
    assert problem["where"] == "fields" and "needs version" in problem["rule"] and "in_qr false" in problem["rule"]
    for line in source["fields"][1:]:  # two of the lines in the holder's detail only, the first shorter: it fits
        line["in_qr"] = False
    source["fields"][0]["max_length"] = 30
    wide.write_text(json.dumps(source, ensure_ascii=False))
    fits = CliRunner().invoke(app, ["kinds", "check", str(wide), "--json", "--url", "https://zwfw.chancheng.gov.cn"])
    assert fits.exit_code == 0 and json.loads(fits.stdout)["qr_version_at_longest"] <= 13


# -- zel kinds register / list: on chain, from the wrong side too ------------------------------------------------


@pytest.fixture(scope="module")
def registry_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A provisioned development data directory (embedded chain, departments and their keys)."""
    from api.provisioning import provision_deployment
    from api.settings import Settings

    data = tmp_path_factory.mktemp("kinds") / "data"
    saved = {v: os.environ.pop(v) for v in KEYSTORE_PASSWORD_VARS if v in os.environ}
    try:
        provision_deployment(Settings(data_dir=data), development=True)
    finally:
        os.environ.update(saved)
    return data


def _zel(data: Path, *args: str):  # noqa: ANN202 - click's Result
    env = {v: None for v in KEYSTORE_PASSWORD_VARS}  # the data directory's own development password files
    return CliRunner().invoke(app, [*args, "--data-dir", str(data)], env=env)


def _variant(tmp_path: Path, name: str, **changes: object) -> Path:
    source = json.loads((FILES / "residence-proof.json").read_text())
    source.update(changes)
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(source, ensure_ascii=False))
    return path


def test_register_puts_a_kind_on_chain_once_and_lists_it(registry_dir: Path) -> None:
    path = FILES / "residence-proof.json"
    first = _zel(registry_dir, "kinds", "register", str(path), "--json")
    assert first.exit_code == 0, first.output
    done = json.loads(first.stdout)
    assert done["ok"] and done["index"] >= 1 and done["department"] == "ps.440604"
    assert done["schema_digest"] == "0x" + load(path.read_text()).digest.hex()
    again = json.loads(_zel(registry_dir, "kinds", "register", str(path), "--json").stdout)
    assert again["already_registered"] and again["index"] == done["index"]  # nothing sent twice
    listed = json.loads(_zel(registry_dir, "kinds", "list", "--json").stdout)
    (row,) = [r for r in listed if r["slug"] == "residence-proof" and r["version"] == 1]
    assert row["index"] == done["index"] and row["file_here"] and row["title"]["zh"] == "居住证明"
    assert row["fields"] == ["address", "since", "purpose"] and row["schema_digest"] == done["schema_digest"]
    table = _zel(registry_dir, "kinds", "list")
    assert table.exit_code == 0 and "residence-proof" in table.stdout


def test_a_department_key_cannot_register_a_kind(registry_dir: Path, tmp_path: Path) -> None:
    path = _variant(tmp_path, "by-ps", slug="ps-own-idea")
    refused = _zel(registry_dir, "kinds", "register", str(path), "--as", "ps")
    assert refused.exit_code == 2 and "administrator" in refused.stderr, refused.output
    listed = json.loads(_zel(registry_dir, "kinds", "list", "--json").stdout)
    assert "ps-own-idea" not in {r["slug"] for r in listed}


def test_registration_refusals_name_the_field_and_the_rule(registry_dir: Path, tmp_path: Path) -> None:
    assert _zel(registry_dir, "kinds", "register", str(FILES / "residence-proof.json")).exit_code == 0
    cases = {
        "slug": _variant(tmp_path, "taken", department="edu.440604", version=2),  # ps owns the slug
        "version": _variant(tmp_path, "stale", validity_days=30),  # a different v1 of the same slug
        "department": _variant(tmp_path, "unknown", slug="nobodys-kind", department="xx.440604"),
    }
    for where, path in cases.items():
        result = _zel(registry_dir, "kinds", "register", str(path), "--json")
        assert result.exit_code == 2, (where, result.output)
        problems = json.loads(result.stdout)["problems"]
        assert [p["where"] for p in problems] == [where], problems
    said = _zel(registry_dir, "kinds", "register", str(cases["slug"]))
    assert "slug: residence-proof is a kind of department ps.440604" in said.stderr
    broken = _variant(tmp_path, "broken", subject="company")  # the file's own rules come first, before the chain
    assert json.loads(_zel(registry_dir, "kinds", "register", str(broken), "--json").stdout)["problems"] == [
        {"where": "subject", "rule": "person (a citizen ID number) or enterprise (a USCC)"}
    ]


def test_a_new_version_is_a_new_kind_and_the_old_one_stays(registry_dir: Path, tmp_path: Path) -> None:
    assert _zel(registry_dir, "kinds", "register", str(FILES / "residence-proof.json")).exit_code == 0
    newer = _zel(registry_dir, "kinds", "register", str(_variant(tmp_path, "v2", version=2)), "--json")
    assert newer.exit_code == 0, newer.output
    rows = [
        r for r in json.loads(_zel(registry_dir, "kinds", "list", "--json").stdout) if r["slug"] == "residence-proof"
    ]
    assert [r["version"] for r in rows] == [1, 2] and rows[0]["schema_digest"] != rows[1]["schema_digest"]
    assert json.loads(newer.stdout)["index"] == rows[1]["index"]

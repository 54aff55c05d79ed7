"""`zel kinds check`: a schema file's summary, or every rule it breaks with its place (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from api.cli import app
from kinds import schema as ks
from kinds.schema import load

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

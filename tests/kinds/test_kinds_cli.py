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

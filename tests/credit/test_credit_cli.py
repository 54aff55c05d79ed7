"""`zel credit record|audit|grade` and `zel inspect draw|redraw` through the real command line."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from pathlib import Path


def run(zel_bin: str, env: dict[str, str], *args: str, ok: tuple[int, ...] = (0,)) -> str:
    out = subprocess.run([zel_bin, *args], env=env, capture_output=True, text=True, timeout=180)
    assert out.returncode in ok, f"zel {' '.join(args)} exited {out.returncode}: {out.stderr[-600:]}"
    return out.stdout


def test_record_audit_tamper_and_draw(zel_bin: str, tmp_path: Path) -> None:
    env = {**os.environ, "ZEL_DATA_DIR": str(tmp_path / "data")}
    run(zel_bin, env, "issuer", "provision", "--demo")  # the administrators' part
    uscc = json.loads(run(zel_bin, env, "seed", "--people", "2", "--enterprises", "4", "--json"))["enterprises"][0]
    made = json.loads(
        run(
            zel_bin,
            env,
            "credit",
            "record",
            uscc,
            "--type",
            "penalty_general",
            "--department",
            "amr.440604",
            "--summary",
            "未按规定公示年报",
            "--reference",
            "禅市监罚〔2026〕12号",
            "--json",
        )
    )
    assert made["seq"] == 0
    report = json.loads(run(zel_bin, env, "credit", "audit", uscc, "--json"))
    assert report["ok"] and report["chain_length"] == 1 and report["chain_grade"] == "B"
    grade = json.loads(run(zel_bin, env, "credit", "grade", uscc, "--json"))
    assert grade["grade"] == "B" and grade["explanation"][0]["points"] == -12
    run(
        zel_bin,
        env,
        "credit",
        "record",
        uscc,
        "--type",
        "bogus",
        "--department",
        "amr.440604",
        "--summary",
        "x",
        ok=(2,),
    )
    store = sqlite3.connect(tmp_path / "data" / "zel.sqlite")  # someone edits the store behind our back
    ((row_id, public),) = store.execute("SELECT id, public FROM credit_record").fetchall()
    edited = {**json.loads(public), "summary": "无违规"}
    assert store.execute("UPDATE credit_record SET public = ? WHERE id = ?", (json.dumps(edited), row_id)).rowcount
    store.commit()
    store.close()
    tampered = run(zel_bin, env, "credit", "audit", uscc, ok=(1,))
    assert tampered.startswith("MISMATCH") and "altered" in tampered

    for name in ("inspector-a", "inspector-b"):
        run(zel_bin, env, "users", "add", name, "--role", "inspector", "--department", "amr.440604")
    drawn = json.loads(run(zel_bin, env, "inspect", "draw", "--targets", "2", "--per-target", "2", "--json"))
    assert len(drawn["result"]) == 2 and drawn["seed"]
    assert run(zel_bin, env, "inspect", "redraw", drawn["uid"]).startswith("OK")
    drawn["candidates"][0]["weight"] += 1  # published data altered after the commitment
    (tmp_path / "draw.json").write_text(json.dumps(drawn))
    out = run(zel_bin, env, "inspect", "redraw", drawn["uid"], "--file", str(tmp_path / "draw.json"), ok=(1,))
    assert "does not open the commitment" in out


def test_one_code_qr_and_credit_report_from_the_command_line(zel_bin: str, tmp_path: Path) -> None:
    import zxingcpp
    from PIL import Image

    env = {**os.environ, "ZEL_DATA_DIR": str(tmp_path / "data")}
    run(zel_bin, env, "issuer", "provision", "--demo")  # the administrators' part
    uscc = json.loads(run(zel_bin, env, "seed", "--people", "2", "--enterprises", "2", "--json"))["enterprises"][0]
    run(
        zel_bin,
        env,
        "credit",
        "record",
        uscc,
        "--type",
        "si_arrears",
        "--department",
        "si.440604",
        "--summary",
        "欠缴社保费",
        "--decided",
        "2026-01-15",
    )
    run(zel_bin, env, "credit", "qr", uscc, "-o", str(tmp_path / "code.png"))
    text = zxingcpp.read_barcodes(Image.open(tmp_path / "code.png"))[0].text
    assert f"/e/{uscc}#" in text
    run(zel_bin, env, "credit", "qr", "91440604MA00000000", "-o", str(tmp_path / "none.png"), ok=(1,))
    made = json.loads(run(zel_bin, env, "credit", "report", uscc, "--from", "2025-06-01", "--json"))
    assert made["grade"] == "B" and made["records"] == 1
    run(zel_bin, env, "credit", "report", uscc, "--from", "2019-01-01", ok=(1, 2))  # over 5 years
    run(zel_bin, env, "anchor", "run", "--once")
    verdict = json.loads(run(zel_bin, env, "verify", made["verify_url"], "--json"))
    grade = next(f for f in verdict["certificate"]["fields"] if f["name"] == "grade")
    assert verdict["status"] == "VALID" and grade["value"] == "b" and grade["value_en"].startswith("B")
    run(zel_bin, env, "cert", "pdf", made["number"], "-o", str(tmp_path / "report.pdf"))
    assert (tmp_path / "report.pdf").read_bytes().startswith(b"%PDF")

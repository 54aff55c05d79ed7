"""Done when: a certificate printed by `zel cert pdf` is read from the PDF's QR by zxing-cpp and verifies VALID by
the CLI, the API and the page; its revocation turns all three to REVOKED. Each step through the real commands."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import zxingcpp
from PIL import Image

from tests.conftest import free_port
from tests.pages.test_verify_page import open_verdict


def zel(zel_bin: str, env: dict[str, str], *args: str, ok: tuple[int, ...] = (0,)) -> str:
    run = subprocess.run([zel_bin, *args], env=env, capture_output=True, text=True, timeout=180)
    assert run.returncode in ok, f"zel {' '.join(args)} exited {run.returncode}: {run.stderr[-800:]}"
    return run.stdout


@contextmanager
def serving(zel_bin: str, env: dict[str, str], port: int) -> Iterator[str]:
    """`zel serve` on the data directory (the embedded chain has one writer at a time, so the CLI waits)."""
    proc = subprocess.Popen(
        [zel_bin, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2)
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read().decode()[-800:]
                assert time.monotonic() < deadline, "zel serve did not come up"
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def api_verdict(base: str, text: str) -> str:
    req = urllib.request.Request(
        base + "/v1/verify", json.dumps({"text": text}).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())["status"]


def test_a_printed_certificate_verifies_by_cli_api_and_page_until_revoked(tmp_path: Path, zel_bin: str, page) -> None:
    port = free_port()
    env = {**os.environ, "ZEL_DATA_DIR": str(tmp_path / "data"), "ZEL_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    zel(zel_bin, env, "issuer", "provision", "--demo")  # the administrators' part
    seeded = json.loads(zel(zel_bin, env, "seed", "--people", "3", "--enterprises", "2", "--seed", "3", "--json"))
    issued = json.loads(
        zel(
            zel_bin,
            env,
            "cert",
            "issue",
            "--kind",
            "tax-enterprise",
            "--subject",
            seeded["enterprises"][0],
            "--from",
            "2025-01",
            "--to",
            "2025-03",
            "--json",
        )
    )
    number = issued["id"]
    zel(zel_bin, env, "anchor", "run", "--once")
    zel(zel_bin, env, "cert", "pdf", number, "-o", str(tmp_path / "cert.pdf"))
    assert (tmp_path / "cert.pdf").read_bytes().startswith(b"%PDF")
    subprocess.run(
        ["pdftoppm", "-r", "150", "-png", "-singlefile", str(tmp_path / "cert.pdf"), str(tmp_path / "scan")],
        check=True,
        timeout=60,
    )
    codes = zxingcpp.read_barcodes(Image.open(tmp_path / "scan.png"), formats=zxingcpp.BarcodeFormat.QRCode)
    assert len(codes) == 1
    text = codes[0].text
    assert text.startswith(f"http://127.0.0.1:{port}/verify#")

    def verdicts() -> tuple[str, str, str]:
        cli = json.loads(zel(zel_bin, env, "verify", text, "--json", ok=(0, 1)))["status"]
        with serving(zel_bin, env, port) as base:
            return cli, api_verdict(base, text), open_verdict(page, text)

    assert verdicts() == ("VALID", "VALID", "VALID")
    zel(zel_bin, env, "cert", "revoke", number, "--reason", "3", "--note", "forged employment")
    assert verdicts() == ("REVOKED", "REVOKED", "REVOKED")
    assert zel(zel_bin, env, "verify", text, ok=(1,)).startswith("REVOKED")  # exit code 1: not VALID

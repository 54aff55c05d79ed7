"""The committed page bundles (api/http/pages/static/) are what `npm run build:web` makes from web/ today, the constants
the pages share with Python (web/generated/constants.js) are what their Python owners give today, and the files it
copies from node_modules (ZXing's WebAssembly, …) are those of the installed packages."""

from __future__ import annotations

import importlib.util
import json
import re
import shlex
import subprocess
from pathlib import Path

from qr import verify
from tests.conftest import ROOT

# scripts/ holds tools run by path (`npm run build:constants`), not a package: the test loads the file the same way.
_spec = importlib.util.spec_from_file_location("page_constants", ROOT / "scripts" / "page_constants.py")
assert _spec and _spec.loader
page_constants = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(page_constants)

STATIC = ROOT / "api" / "http" / "pages" / "static"
SCRIPTS = json.loads((ROOT / "package.json").read_text())["scripts"]


def copied_folders() -> set[str]:
    """The folders of api/http/pages/static that the build's copy steps make
    (`mkdir -p api/http/pages/static/<name>`)."""
    return set(re.findall(r"mkdir -p api/http/pages/static/([\w.-]+)", " ".join(SCRIPTS.values())))


def test_the_committed_page_constants_are_what_python_makes_today() -> None:
    assert SCRIPTS["build:web"].startswith("npm run build:constants &&"), "the constants are written before esbuild"
    assert "scripts/page_constants.py" in SCRIPTS["build:constants"]
    committed = page_constants.OUT.read_text(encoding="utf-8")
    assert committed == page_constants.render(), "run `npm run build:web` and commit web/generated/ and the bundles"


def test_no_page_source_copies_a_generated_constant_by_hand() -> None:
    names = [name for name, _, _ in page_constants.constants()]
    sources = [p for p in (ROOT / "web").rglob("*.js") if p.parent.name != "generated"]
    assert sources
    for path in sources:
        text = path.read_text(encoding="utf-8")
        for literal in (
            "tax.440604",
            "0123456789ABCDEFGHJKLMNPQRTUWXY",
            "Chancheng",
            "个人纳税证明",
            "EIP712Domain(",
            "Certificate(uint8",
            "IOSVZ",
            "4_000_000",
        ):
            assert literal not in text, f"{path.relative_to(ROOT)} copies {literal!r}: import it from generated/"
        assert not any(f"const {name} =" in text for name in names), path


def test_the_python_verifier_agrees_with_the_generated_tables() -> None:
    """qr/verify.py keeps its own copies (qr sits below zero_errand and credit): they must not drift either."""
    table = {name: value for name, _, value in page_constants.constants()}
    kinds = table["CERT_KINDS"]
    assert verify.KIND_ZH == {code: k["zh"] for code, k in kinds.items()}
    assert verify.KIND_EN == {code: k["en"] for code, k in kinds.items()}
    assert verify.CHAIN_KIND == {code: k["chainKind"] for code, k in kinds.items()}
    assert verify.GRADES == table["GRADES"]


def test_the_committed_bundles_are_up_to_date(tmp_path: Path) -> None:
    esbuild = next(step for step in SCRIPTS["build:web"].split("&&") if step.strip().startswith("esbuild"))
    args = shlex.split(esbuild)
    outdir = next(a for a in args if a.startswith("--outdir=")).removeprefix("--outdir=")
    out = tmp_path / "static"
    args = [a for a in args if a != f"--outdir={outdir}"]
    target = out / Path(outdir).relative_to("api/http/pages/static")
    run = subprocess.run(
        ["npx", "--no-install", *args, f"--outdir={target}"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    copied = copied_folders()
    built = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    committed = {
        p.relative_to(STATIC): p.read_bytes()
        for p in STATIC.rglob("*")
        if p.is_file() and p.relative_to(STATIC).parts[0] not in copied
    }
    assert built, "esbuild wrote nothing"
    stale = sorted(str(p) for p in built.keys() | committed.keys() if built.get(p) != committed.get(p))
    assert not stale, f"run `npm run build:web` and commit api/http/pages/static/: {stale}"


def test_the_decoder_wasm_is_the_installed_zxing_wasm_and_no_cdn_is_named() -> None:
    assert "zxing" in copied_folders()
    package = ROOT / "node_modules" / "zxing-wasm"
    version = json.loads((ROOT / "package.json").read_text())["dependencies"]["zxing-wasm"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), "zxing-wasm is pinned exactly"
    assert json.loads((package / "package.json").read_text())["version"] == version
    assert (STATIC / "zxing" / "zxing_reader.wasm").read_bytes() == (
        package / "dist" / "reader" / "zxing_reader.wasm"
    ).read_bytes(), "run `npm run build:web`"
    decoder = (STATIC / "scan" / "decode.js").read_text()
    assert "zxing_reader.wasm?v=" in decoder  # our locateFile; the package's CDN default stays unused
    assert "jsqr" not in json.loads((ROOT / "package.json").read_text())["dependencies"]

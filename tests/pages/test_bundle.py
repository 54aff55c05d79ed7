"""The committed page bundles (api/pages/static/) are what `npm run build:web` makes from web/ today."""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

from tests.conftest import ROOT

STATIC = ROOT / "api" / "pages" / "static"


def test_the_committed_bundles_are_up_to_date(tmp_path: Path) -> None:
    script = json.loads((ROOT / "package.json").read_text())["scripts"]["build:web"]
    args = shlex.split(script)
    outdir = next(a for a in args if a.startswith("--outdir=")).removeprefix("--outdir=")
    out = tmp_path / "static"
    args = [a for a in args if a != f"--outdir={outdir}"]
    target = out / Path(outdir).relative_to("api/pages/static")
    run = subprocess.run(["npx", "--no-install", *args, f"--outdir={target}"], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    built = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    committed = {p.relative_to(STATIC): p.read_bytes() for p in STATIC.rglob("*") if p.is_file()}
    assert built, "esbuild wrote nothing"
    stale = sorted(str(p) for p in built.keys() | committed.keys() if built.get(p) != committed.get(p))
    assert not stale, f"run `npm run build:web` and commit api/pages/static/: {stale}"

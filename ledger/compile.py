"""Reproducible contract build: Solidity sources in, committed JSON artifacts out.

The compiler is the npm `solc` pinned in package.json, run under Node, or a native `solc` on PATH of the
same version through py-solc-x. Every source (OpenZeppelin's included) is inlined into one standard-JSON
input, so both compilers see identical input and produce identical bytecode. `check()` rebuilds in
memory and reports every artifact that differs from the committed one.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from ledger.errors import ArtifactError

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIR = ROOT / "contracts" / "src"
ARTIFACT_DIR = ROOT / "contracts" / "artifacts"
NODE_MODULES = ROOT / "node_modules"
CONTRACTS = ("IssuerRegistry", "AttestationRegistry", "CreditRegistry")
SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": 1000000},
    "viaIR": True,
    "evmVersion": "paris",
    "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}},
}
_IMPORT = re.compile(r'^\s*import\s+(?:[^"\']*from\s+)?["\']([^"\']+)["\']\s*;', re.MULTILINE)


def pinned_solc_version() -> str:
    """The solc version package.json pins (e.g. "0.8.30")."""
    pkg = json.loads((ROOT / "package.json").read_text())
    return pkg["dependencies"]["solc"]


def _resolve(name: str, importer: str | None) -> Path:
    if name.startswith("."):
        base = _resolve(importer, None).parent if importer else SOURCE_DIR
        return (base / name).resolve()
    if name.startswith("@"):
        return NODE_MODULES / name
    return SOURCE_DIR / name


def _unit_name(path: Path) -> str:
    try:
        return path.relative_to(NODE_MODULES).as_posix()
    except ValueError:
        return path.relative_to(SOURCE_DIR).as_posix()


def collect_sources() -> dict[str, str]:
    """Every source unit our contracts need, keyed by unit name, imports followed transitively."""
    sources: dict[str, str] = {}
    pending = [SOURCE_DIR / f"{name}.sol" for name in CONTRACTS]
    while pending:
        path = pending.pop()
        unit = _unit_name(path)
        if unit in sources:
            continue
        if not path.exists():
            raise ArtifactError(f"source {unit} not found at {path} (run `npm ci` for OpenZeppelin)")
        text = path.read_text()
        sources[unit] = text
        for imported in _IMPORT.findall(text):
            if imported.startswith("."):
                pending.append((path.parent / imported).resolve())
            else:
                pending.append(_resolve(imported, None))
    return dict(sorted(sources.items()))


def standard_input(sources: dict[str, str]) -> dict[str, Any]:
    """The solc standard-JSON input for `sources`."""
    return {
        "language": "Solidity",
        "sources": {unit: {"content": text} for unit, text in sources.items()},
        "settings": SETTINGS,
    }


def _native_solc(version: str) -> str | None:
    solc = shutil.which("solc")
    if not solc:
        return None
    out = subprocess.run([solc, "--version"], capture_output=True, text=True).stdout
    return solc if f"Version: {version}+" in out else None


def run_compiler(payload: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """Compile a standard-JSON input; returns (output, full compiler version)."""
    version = pinned_solc_version()
    native = _native_solc(version)
    if native:
        import solcx

        full = subprocess.run([native, "--version"], capture_output=True, text=True).stdout
        full_version = re.search(r"Version: (\S+?)\.\w+$", full.strip(), re.M)
        output = solcx.compile_standard(payload, solc_binary=native)
        return output, full_version.group(1) if full_version else version
    script = ROOT / "scripts" / "solc-compile.js"
    if shutil.which("node") is None:
        raise ArtifactError("neither a native solc nor Node.js is available to compile the contracts")
    try:
        proc = subprocess.run(
            ["node", str(script)],
            input=json.dumps(payload),
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=True,
        )
        node_version = subprocess.run(
            ["node", str(script), "--version"],
            input="",
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=True,
        ).stdout.strip()
    except subprocess.CalledProcessError as exc:
        raise ArtifactError(f"npm solc failed (run `npm ci`?): {exc.stderr.strip()[-500:]}") from exc
    return json.loads(proc.stdout), node_version.removesuffix(".Emscripten.clang")


def build_artifacts() -> dict[str, dict[str, Any]]:
    """Compile the contracts and return one artifact per contract, ready to write."""
    sources = collect_sources()
    output, version = run_compiler(standard_input(sources))
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise ArtifactError("compilation failed:\n" + "\n".join(e["formattedMessage"] for e in errors))
    hashes = {unit: hashlib.sha256(text.encode()).hexdigest() for unit, text in sources.items()}
    artifacts = {}
    for name in CONTRACTS:
        unit = f"{name}.sol"
        compiled = output["contracts"][unit][name]
        artifacts[name] = {
            "contractName": name,
            "sourceName": unit,
            "compiler": {"name": "solc", "version": version},
            "settings": {k: v for k, v in SETTINGS.items() if k != "outputSelection"},
            "sources": hashes,
            "abi": compiled["abi"],
            "bytecode": "0x" + compiled["evm"]["bytecode"]["object"],
            "deployedBytecode": "0x" + compiled["evm"]["deployedBytecode"]["object"],
        }
    return artifacts


def _dump(artifact: dict[str, Any]) -> str:
    return json.dumps(artifact, indent=2, sort_keys=True) + "\n"


def write_artifacts(artifacts: dict[str, dict[str, Any]], directory: Path = ARTIFACT_DIR) -> list[Path]:
    """Write artifacts as stable, sorted JSON files; returns the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, artifact in artifacts.items():
        path = directory / f"{name}.json"
        path.write_text(_dump(artifact))
        paths.append(path)
    return paths


def check(directory: Path = ARTIFACT_DIR) -> list[str]:
    """Rebuild and compare with the committed artifacts; returns a list of differences (empty = clean)."""
    problems = []
    for name, artifact in build_artifacts().items():
        path = directory / f"{name}.json"
        if not path.exists():
            problems.append(f"{path.name}: missing")
            continue
        committed = json.loads(path.read_text())
        for field in sorted(set(artifact) | set(committed)):
            if artifact.get(field) != committed.get(field):
                problems.append(f"{path.name}: field {field!r} differs from a fresh build")
    return problems

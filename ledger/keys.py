"""Encrypted keystores (Web3 Secret Storage, scrypt) for the admin and department signing keys.

Keystores live in `DATA_DIR/keys/NAME.json`. Passwords never come from the repo: from
`ZEL_KEYSTORE_PASSWORD`, a password file named by `ZEL_KEYSTORE_PASSWORD_FILE`, the data directory's own
development password file (written only by `zel` when it bootstraps an embedded chain), or a prompt.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from ledger.errors import KeystoreError

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
DEV_PASSWORD_FILE = "dev-keystore-password"
# scrypt work factor. 2**18 is the Web3 Secret Storage default (about 1 s, 256 MiB per unlock);
# ZEL_KDF_N lowers it for throwaway development data.
DEFAULT_KDF_N = 2**18


@dataclass(frozen=True)
class KeyEntry:
    """A keystore on disk: its name and the address it holds."""

    name: str
    address: str
    path: Path


class Keystore:
    """The keystores of one data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.dir = data_dir / "keys"

    def path(self, name: str) -> Path:
        if not _NAME.match(name):
            raise KeystoreError(f"key name {name!r} must be lower-case letters, digits, '.', '_' or '-'")
        return self.dir / f"{name}.json"

    def exists(self, name: str) -> bool:
        return self.path(name).exists()

    def new(self, name: str, password: str, private_key: bytes | None = None) -> KeyEntry:
        """Create keystore `name` for a fresh key (or `private_key`); refuses to overwrite."""
        path = self.path(name)
        if path.exists():
            raise KeystoreError(f"keystore {name!r} already exists at {path}")
        account = Account.from_key(private_key) if private_key else Account.create()
        n = int(os.environ.get("ZEL_KDF_N", DEFAULT_KDF_N))
        blob = Account.encrypt(account.key, password, kdf="scrypt", iterations=n)
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(blob, fh)
        os.replace(tmp, path)
        return KeyEntry(name, account.address, path)

    def list(self) -> list[KeyEntry]:
        """Every keystore in the data directory, by name."""
        if not self.dir.exists():
            return []
        entries = []
        for path in sorted(self.dir.glob("*.json")):
            try:
                address = json.loads(path.read_text())["address"]
            except (OSError, ValueError, KeyError) as exc:
                raise KeystoreError(f"keystore {path} is unreadable: {exc}") from exc
            entries.append(KeyEntry(path.stem, to_checksum_address("0x" + address.removeprefix("0x")), path))
        return entries

    def address(self, name: str) -> str:
        for entry in self.list():
            if entry.name == name:
                return entry.address
        raise KeystoreError(f"no keystore named {name!r} in {self.dir} (create it with `zel keys new {name}`)")

    def load(self, name: str, password: str | None = None) -> LocalAccount:
        """Decrypt keystore `name` with `password` (or the configured password source)."""
        path = self.path(name)
        if not path.exists():
            raise KeystoreError(f"no keystore named {name!r} in {self.dir} (create it with `zel keys new {name}`)")
        pw = password if password is not None else self.password(prompt_for=name)
        try:
            key = Account.decrypt(json.loads(path.read_text()), pw)
        except ValueError as exc:
            raise KeystoreError(f"wrong password for keystore {name!r}") from exc
        return Account.from_key(key)

    # -- passwords -------------------------------------------------------------------------------

    @property
    def dev_password_path(self) -> Path:
        return self.data_dir / "secrets" / DEV_PASSWORD_FILE

    def password(self, prompt_for: str | None = None, confirm: bool = False) -> str:
        """The keystore password from the environment, a password file, or an interactive prompt."""
        env = os.environ.get("ZEL_KEYSTORE_PASSWORD")
        if env:
            return env
        file = os.environ.get("ZEL_KEYSTORE_PASSWORD_FILE")
        if file:
            try:
                return Path(file).read_text().rstrip("\n")
            except OSError as exc:
                raise KeystoreError(f"cannot read ZEL_KEYSTORE_PASSWORD_FILE {file}: {exc}") from exc
        if self.dev_password_path.exists():
            return self.dev_password_path.read_text().rstrip("\n")
        if sys.stdin.isatty():
            label = f" for key {prompt_for!r}" if prompt_for else ""
            pw = getpass.getpass(f"Keystore password{label}: ")
            if confirm and getpass.getpass("Repeat password: ") != pw:
                raise KeystoreError("passwords do not match")
            if not pw:
                raise KeystoreError("an empty keystore password is not allowed")
            return pw
        raise KeystoreError(
            "no keystore password: set ZEL_KEYSTORE_PASSWORD or ZEL_KEYSTORE_PASSWORD_FILE, or run interactively"
        )

    def ensure_dev_password(self) -> str:
        """Create (once) a random password file for a development data directory and return it.

        Used only when bootstrapping the embedded chain with no password configured; `zel serve` in
        production mode refuses data directories that hold it.
        """
        if os.environ.get("ZEL_KEYSTORE_PASSWORD") or os.environ.get("ZEL_KEYSTORE_PASSWORD_FILE"):
            return self.password()
        path = self.dev_password_path
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(24))
        return path.read_text().rstrip("\n")

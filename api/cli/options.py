"""What every `zel` command shares: its options, its settings and context, and the one error handler.

Exit codes: 0 done; 1 the answer is no (a certificate not VALID, an audit or draw that does not match, an invalid
code, no record by that number); 2 refused: bad usage, and every domain error (`errors.ZelError`, whatever its
category), printed as `error: <message>` on stderr by `ZelGroup`, the top-level group of `zel`.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from typer.core import TyperGroup

from api.context import AppContext, StoreParts, build_context, configure_process
from api.context import open_store as open_store_of
from api.security import Principal
from api.settings import Settings, mark_development
from errors import ConfigurationError, Conflict, Forbidden, InvalidInput, NotFound, Unavailable, ZelError
from ledger.chain import ChainConfig
from store.models import Role

out = Console(soft_wrap=True)
DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", envvar="ZEL_DATA_DIR", help="Data directory (default ./.zel).", show_default=False),
]
ChainUrl = Annotated[
    str | None,
    typer.Option("--chain-url", envvar="ZEL_CHAIN_URL", help="JSON-RPC URL; the embedded chain when unset."),
]
JsonOut = Annotated[bool, typer.Option("--json", help="Print JSON.")]
AsAdmin = Annotated[str, typer.Option("--as", help="The district administrator's keystore name.")]

# A domain error's exit code by its category: each is a refusal (2), as the command line has always said.
EXIT_CODES: dict[type[ZelError], int] = {
    InvalidInput: 2,
    NotFound: 2,
    Conflict: 2,
    Forbidden: 2,
    Unavailable: 2,
    ConfigurationError: 2,
}
REFUSED = 2


def exit_code(error: ZelError) -> int:
    """The exit code of a command that `error` stopped."""
    return next((code for category, code in EXIT_CODES.items() if isinstance(error, category)), REFUSED)


def fail(message: str, code: int = REFUSED) -> typer.Exit:
    """Print `error: <message>` on stderr; raise what this returns to exit with `code`."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


class ZelGroup(TyperGroup):
    """`zel` itself: runs every command, and says every domain error it raises, in one place."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except ZelError as exc:
            raise fail(exc.message, exit_code(exc)) from exc


# -- settings and contexts --------------------------------------------------------------------------


def settings_of(
    data_dir: Path | None,
    chain_url: str | None = None,
    *,
    demo: bool = False,
    development: bool = False,
    service: bool = True,
) -> Settings:
    """The settings of a command, as an entry point: it prints the mode (on stderr) and, in production, refuses
    development data, secrets, keys or identity provider (`Settings.check_production`).

    `demo` (`--demo`) and `development` (a command that only makes sense on development data, such as `zel
    seed`) choose development unless ZEL_MODE says otherwise, and mark the data directory as development's.
    `service=False`: an administrator's command, which needs none of the service's secrets.
    """
    settings = quiet_settings(data_dir, chain_url)
    adopted = (demo or development) and not settings.mode_explicit  # development inferred, not configured
    if demo or development:
        settings.choose_development("--demo" if demo else "this command writes invented development data")
    typer.echo(settings.describe_mode(), err=True)
    if development and settings.mode == "production":
        raise ConfigurationError(
            "refusing to start in production mode: this command writes invented "
            "development data (unset ZEL_MODE=production, or use a development data "
            "directory)"
        )
    if adopted and not _development_data_dir(settings):
        raise ConfigurationError(
            f"{settings.root} holds data that development did not make: demo data is never "
            "written into it unless ZEL_MODE=development says so (or use a new directory)"
        )
    settings.check_production(demo, service=service)
    if demo or development:
        mark_development(settings.root)
    return settings


def quiet_settings(data_dir: Path | None, chain_url: str | None = None) -> Settings:
    """The settings of a command that says nothing of its mode (the chain's and the keystores' commands), with
    the process configured from them (the keystores' scrypt cost and passwords)."""
    given: dict[str, Any] = {"data_dir": data_dir, "chain_url": chain_url}
    overrides = {k: v for k, v in given.items() if v is not None}
    settings = Settings(**overrides)
    configure_process(settings)
    return settings


def _development_data_dir(settings: Settings) -> bool:
    """Whether `settings.root` is new or was made by development (its DEVELOPMENT marker, or the development
    passwords and secrets only the demo writes)."""
    from api.settings import DEVELOPMENT_MARKER

    root = settings.root
    if (root / DEVELOPMENT_MARKER).exists():
        return True
    if settings.keystore().dev_password_files() or (root / "secrets" / "dev-token-secret").exists():
        return True  # made by the demo of a zel from before the marker
    made = [root / "zel.sqlite", root / "deployments", root / "chain"]
    return not any(p.exists() for p in made) and not any((root / "keys").glob("*.json"))


def config_of(data_dir: Path | None, chain_url: str | None, *, read_only: bool = False) -> ChainConfig:
    """The chain a command works on; `read_only` for commands that only read (an embedded chain is then opened
    read-only, beside `zel serve` or not, and never kept from a writer)."""
    config = quiet_settings(data_dir, chain_url).chain()
    config.read_only = read_only
    return config


def open_store(data_dir: Path | None, *, development: bool = False, chain_url: str | None = None) -> StoreParts:
    """The settings, session factory and personal-data codec of the data directory's store (migrated)."""
    return open_store_of(settings_of(data_dir, chain_url, development=development))


@contextmanager
def cli_context(
    data_dir: Path | None, chain_url: str | None, *, writes: str | None = None, settings: Settings | None = None
) -> Iterator[AppContext]:
    """The services, on the chain, closed when the block ends; beside a running `zel serve` the embedded chain is
    open read-only. `writes`: this command writes to the chain, and says what to do instead when the server holds
    it ("{url}": its URL); it is then refused before doing anything."""
    with build_context(settings or settings_of(data_dir, chain_url)) as ctx:
        if writes is not None:
            writable(ctx.require_ledger().conn, writes)
        yield ctx


def writable(conn: Any, instead: str | None = None) -> None:
    """Before a command writes to the chain: raise `ChainHeld` (exit 2) when another process (`zel serve`) holds
    the embedded chain, naming the command, the holder and its URL, and what to do `instead` ("{url}": the
    holder's)."""
    conn.require_writable(instead)


def cli_actor() -> Principal:
    """Who the audit log names for a command: the operating-system user, as an administrator."""
    return Principal(f"cli:{getpass.getuser()}", Role.ADMIN)


# -- values ----------------------------------------------------------------------------------------


def parse_time(text: str | None) -> int:
    """Unix seconds from an ISO-8601 time (naive means UTC) or a number; None/'' means 0 ("now")."""
    if not text:
        return 0
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise fail(f"time {text!r} is not ISO-8601 (2026-11-22T08:00:00+08:00) or unix seconds") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def iso(ts: int) -> str:
    """An ISO-8601 UTC time from unix seconds; '-' for 0 (never)."""
    return datetime.fromtimestamp(ts, UTC).isoformat() if ts else "-"

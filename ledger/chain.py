"""Chain backends: the embedded py-evm chain (default) and any JSON-RPC node (ganache, Besu)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_typing import ChecksumAddress, HexAddress, HexStr
from web3 import HTTPProvider, Web3
from web3.middleware import ExtraDataToPOAMiddleware

from ledger.errors import ConfigurationError, NotDeployed

# A keyless address funded at embedded genesis, used as `from` of read-only calls ("ZEL" in hex).
EMBEDDED_READER = "0x00000000000000000000000000000000005a454C"


@dataclass
class ChainConfig:
    """Where the chain is and how patient to be with it (`api.settings.Settings.chain()` builds it)."""

    data_dir: Path
    rpc_url: str | None = None  # None: the embedded chain under data_dir
    receipt_timeout: float = 120.0
    request_timeout: float = 10.0
    retries: int = 5
    # The embedded chain only: True opens it read-only even when no process holds it (a reader then never keeps
    # a writer from starting); False, the default, writes when free and reads beside the process that holds it.
    read_only: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def embedded(self) -> bool:
        return self.rpc_url is None


@dataclass
class Connection:
    """A connected Web3 plus what must be closed with it."""

    w3: Web3
    config: ChainConfig
    backend: Any = None  # the embedded backend, if any

    @property
    def holder(self) -> Any:
        """The process that holds the embedded chain when this connection only reads it (else None)."""
        return getattr(self.backend, "holder", None)

    def require_writable(self, instead: str | None = None) -> None:
        """Raise `ChainHeld`, naming the holder and what to do `instead` ("{url}": the holder's URL), when this
        connection may only read the chain."""
        if self.backend is not None:
            self.backend.refuse_writes(instead)

    def close(self) -> None:
        if self.backend is not None:
            self.backend.close()
            self.backend = None


def connect(config: ChainConfig, *, fund: list[str] | None = None) -> Connection:
    """Open the configured chain.

    `fund` lists the addresses a new embedded chain credits at genesis; only a caller that passes it
    (`bootstrap`) may create the embedded chain, so a mistyped data directory is an error, not a new,
    empty chain.

    When another process holds the embedded chain (`zel serve`), this one opens it read-only beside it and
    every write raises `ChainHeld` naming the holder (`Connection.require_writable` asks before any work);
    `bootstrap` never settles for that.
    """
    if config.embedded:
        from ledger.embedded import LockedTesterProvider, chain_db_path, open_embedded_tester

        if fund is None and not chain_db_path(config.data_dir).exists():
            raise NotDeployed(f"no embedded chain in {config.data_dir} yet (run `zel up` or `zel contracts deploy`)")

        read_only = False if fund is not None else (True if config.read_only else None)
        tester, backend = open_embedded_tester(config.data_dir, [EMBEDDED_READER, *(fund or [])], read_only=read_only)
        w3 = Web3(LockedTesterProvider(tester))
        # eth-tester insists on a `from` for eth_call, and that it can afford the call's gas.
        w3.eth.default_account = ChecksumAddress(HexAddress(HexStr(EMBEDDED_READER)))
        return Connection(w3, config, backend)
    if not config.rpc_url or not config.rpc_url.startswith(("http://", "https://")):
        raise ConfigurationError(f"chain URL {config.rpc_url!r} must start with http:// or https://")
    provider = HTTPProvider(
        config.rpc_url,
        request_kwargs={"timeout": config.request_timeout},
        exception_retry_configuration=None,  # ledger.tx retries with its own backoff
    )
    w3 = Web3(provider)
    # Besu QBFT (and any clique/PoA chain) puts more than 32 bytes in extraData.
    w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    return Connection(w3, config)

"""The composition root (api/context.py) and the one Settings: what the chain's absence says, and the settings the
other packages receive as values rather than read from the environment themselves."""

from __future__ import annotations

import pytest

from api.context import ChainClosed, build_context
from api.settings import Settings
from errors import Unavailable
from ledger import keys


def test_a_closed_chain_is_one_unavailable_error(tmp_path):
    with build_context(Settings(data_dir=tmp_path / "data", mode="development"), open_chain=False) as ctx:
        assert ctx.ledger is None and ctx.certificates is None and ctx.credit is None and ctx.standings is None
        for require, said in (
            (ctx.require_ledger, "verification is"),
            (ctx.require_certificates, "certificates are"),
            (ctx.require_credit, "credit is"),
            (ctx.require_standings, "credit is"),
            (ctx.key_lists, "verification is"),
        ):
            with pytest.raises(ChainClosed) as caught:
                require()
            assert isinstance(caught.value, Unavailable) and caught.value.code == "unavailable"
            assert caught.value.message == f"{said} unavailable: the chain is not open"
        with pytest.raises(ChainClosed, match="^credit is unavailable: the chain is not open$"):
            ctx.require_ledger("credit is")


def test_the_chain_and_keystore_settings_come_from_settings(tmp_path, monkeypatch):
    for name, value in {
        "ZEL_RPC_TIMEOUT": "3",
        "ZEL_RPC_RETRIES": "2",
        "ZEL_RECEIPT_TIMEOUT": "30",
        "ZEL_CHAIN_URL": "http://127.0.0.1:8545",
        "ZEL_KDF_N": "2048",
        "ZEL_KEYSTORE_PASSWORD_TAX_2026": "tax-only",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ZEL_DATA_DIR", str(tmp_path / "env-data"))
    settings = Settings()
    chain = settings.chain()
    assert (chain.data_dir, chain.rpc_url) == ((tmp_path / "env-data").resolve(), "http://127.0.0.1:8545")
    assert (chain.request_timeout, chain.retries, chain.receipt_timeout) == (3.0, 2, 30.0)
    store = settings.keystore()
    assert store.policy.kdf_n == 2048 and store.password("tax-2026", prompt=False) == "tax-only"
    assert Settings(data_dir=tmp_path / "given").chain().data_dir == (tmp_path / "given").resolve()  # init wins
    previous = keys.current_policy()
    try:
        keys.configure(settings.key_policy())
        assert keys.Keystore(tmp_path).policy.kdf_n == 2048  # a keystore opened without a policy: the process's
    finally:
        keys.configure(previous)

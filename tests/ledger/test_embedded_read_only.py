"""A second process beside the one that holds the embedded chain: it reads the last whole block, never writes,
never blocks the holder, and is told who holds the chain when it tries to write."""

from __future__ import annotations

import os

import pytest

from ledger.chain import ChainConfig
from ledger.client import CertificateStatus, Ledger, bootstrap
from ledger.embedded import chain_holder
from ledger.errors import ChainHeld, NotDeployed
from ledger.kinds import Kind
from ledger.merkle import MerkleTree
from tests.conftest import make_env


def test_a_reader_beside_the_holder_reads_and_is_refused_writes(tmp_path):
    env = make_env(tmp_path / "data", None, "embedded")  # this process holds the chain (a writer's lock)
    digests = [os.urandom(32) for _ in range(3)]
    first = MerkleTree.of(digests[:2])
    env.ledger.anchor_root(env.tax_key, first.root, Kind.TAX_CERTIFICATE, 2)
    env.ledger.conn.backend.announce("http://127.0.0.1:8123")
    holder = chain_holder(tmp_path / "data")
    assert holder is not None and holder.pid == os.getpid() and holder.url == "http://127.0.0.1:8123"

    reader = Ledger.open(ChainConfig(data_dir=tmp_path / "data"))  # the lock is taken: read-only beside it
    try:
        assert reader.conn.holder == holder
        block = reader.w3.eth.block_number
        assert block == env.ledger.w3.eth.block_number
        assert reader.indexed_status(first.root, first.proof(digests[0]), digests[0]) == CertificateStatus.ANCHORED
        assert {k.address for k in reader.keys()} == {k.address for k in env.ledger.keys()}

        with pytest.raises(ChainHeld) as refused:
            reader.anchor_root(env.tax_key, MerkleTree.of([os.urandom(32)]).root, Kind.TAX_CERTIFICATE, 1)
        assert f"(pid {os.getpid()}) at http://127.0.0.1:8123 holds" in refused.value.message
        with pytest.raises(ChainHeld, match="revoke through the server instead"):
            reader.conn.require_writable("revoke through the server instead")

        # The holder writes on, undisturbed by the reader, and the reader sees each new whole block.
        second = MerkleTree.of(digests[2:])
        env.ledger.anchor_root(env.tax_key, second.root, Kind.TAX_CERTIFICATE, 1)
        assert env.ledger.w3.eth.block_number == block + 1  # the refused write left no block behind
        reader._status_index().mark_stale()
        assert reader.indexed_status(second.root, second.proof(digests[2]), digests[2]) == CertificateStatus.ANCHORED
    finally:
        reader.close()
    env.ledger.close()
    assert chain_holder(tmp_path / "data") is None


def test_read_only_even_when_free_and_never_taking_the_lock(tmp_path):
    env = make_env(tmp_path / "data", None, "embedded")
    env.ledger.close()
    reader = Ledger.open(ChainConfig(data_dir=tmp_path / "data", read_only=True))
    try:
        assert reader.w3.eth.block_number > 0 and chain_holder(tmp_path / "data") is None
        writer = Ledger.open(ChainConfig(data_dir=tmp_path / "data"))  # a reader never keeps a writer out
        assert writer.conn.holder is None
        writer.close()
    finally:
        reader.close()


def test_read_only_open_of_a_directory_without_a_chain_fails_clearly(tmp_path):
    for config in (ChainConfig(data_dir=tmp_path / "none", read_only=True), ChainConfig(data_dir=tmp_path / "none")):
        with pytest.raises(NotDeployed, match="no embedded chain in .* yet"):
            Ledger.open(config)
    assert not (tmp_path / "none").exists()  # nothing created


def test_deploying_never_settles_for_read_only(tmp_path):
    env = make_env(tmp_path / "data", None, "embedded")
    try:
        with pytest.raises(ChainHeld, match="holds: stop it and run this again"):
            bootstrap(ChainConfig(data_dir=tmp_path / "data"))
    finally:
        env.ledger.close()

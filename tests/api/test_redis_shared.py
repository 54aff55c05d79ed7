"""Several replicas share rate limits and standing-cache invalidation through the machine's Redis (issue 18).

Each test uses its own key prefix (and so its own channel), so parallel workers never meet. "Replicas" are separate
`SharedState` objects (each its own connection pool and listener) over separate database engines; the last test
runs two real `zel serve` processes.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from datetime import date

import pytest
import redis

from api.http.limits import RateLimiter
from api.http.problems import ProblemError
from api.shared_state import SharedState
from credit import workflows
from credit.cache import StandingCache
from store.db import make_engine, session_factory, transaction
from tests.conftest import free_port

REDIS_URL = os.environ.get("ZEL_TEST_REDIS", "redis://127.0.0.1:6379/0")


@pytest.fixture
def prefix() -> Iterator[str]:
    """A key prefix of this test alone; its keys are deleted afterwards."""
    prefix = f"zeltest:{uuid.uuid4().hex[:12]}:"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=prefix + "*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def replicas(prefix: str) -> Iterator[Callable[[], SharedState]]:
    """A factory of replicas' shared state on one Redis and prefix, closed at the end."""
    made: list[SharedState] = []

    def replica() -> SharedState:
        made.append(SharedState(REDIS_URL, prefix))
        return made[-1]

    yield replica
    for state in made:
        state.close()


def closed_port_url() -> str:
    """A Redis URL nothing listens on (a port just released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


def refused(limiter: RateLimiter, key: str) -> int:
    """The Retry-After of `limiter`'s refusal of `key` (fails the test when it is not refused)."""
    with pytest.raises(ProblemError) as refusal:
        limiter.check(key)
    assert refusal.value.status_code == 429 and refusal.value.headers is not None
    return int(refusal.value.headers["Retry-After"])


# -- rate limits ------------------------------------------------------------------------------------------


def test_two_replicas_share_one_bucket(replicas, prefix) -> None:
    a = RateLimiter(3, replicas().buckets("auth"))
    b = RateLimiter(3, replicas().buckets("auth"))
    a.check("addr:10.0.0.1")
    b.check("addr:10.0.0.1")
    a.check("addr:10.0.0.1")
    # The budget of 3 a minute is spent across both: the other replica refuses too, and says when to come back
    # (one token per 20 s; a few milliseconds have refilled a sliver of it).
    assert refused(b, "addr:10.0.0.1") in (20, 21)
    assert refused(a, "addr:10.0.0.1") in (20, 21)
    # Another caller, and another limiter with the same caller, have their own buckets.
    b.check("addr:10.0.0.2")
    RateLimiter(3, replicas().buckets("expensive")).check("addr:10.0.0.1")
    # Not a process-local answer: the bucket is in Redis, under the prefix, and expires once it would be full again.
    client = redis.Redis.from_url(REDIS_URL)
    try:
        key = f"{prefix}rate:auth:addr:10.0.0.1"
        assert float(client.hget(key, "tokens") or 9) < 1
        assert 0 < client.ttl(key) <= 61
    finally:
        client.close()
    assert a._buckets == {} and b._buckets == {}


def test_the_shared_bucket_refills_at_its_rate(replicas) -> None:
    a, b = RateLimiter(600, replicas().buckets("auth")), RateLimiter(600, replicas().buckets("auth"))  # 10 a second

    def spend() -> tuple[int, int]:
        """Check alternately on both replicas until refused: (checks let through, Retry-After)."""
        taken = 0
        while True:
            try:
                (a if taken % 2 else b).check("client:erp")
            except ProblemError as exc:
                assert exc.headers is not None
                return taken, int(exc.headers["Retry-After"])
            taken += 1

    started = time.monotonic()
    taken, retry = spend()
    # The whole budget of 600, plus what refilled meanwhile (10 a second by Redis's clock), and no more.
    assert 600 <= taken <= 600 + (time.monotonic() - started) * 10 + 1
    assert retry == 1
    time.sleep(0.5)  # 5 tokens back
    started = time.monotonic()
    taken, retry = spend()
    assert 5 <= taken <= 6 + (time.monotonic() - started) * 10 and retry == 1


def test_redis_down_falls_back_to_the_replicas_own_buckets(caplog) -> None:
    """Documented in docs/operations.md: limits never disappear, they become one budget per replica."""
    state = SharedState(closed_port_url(), "zeltest:down:")
    try:
        limiter = RateLimiter(3, state.buckets("auth"))
        with caplog.at_level(logging.WARNING, logger="api.http.limits"):
            started = time.monotonic()
            for _ in range(3):
                limiter.check("addr:10.0.0.9")
            assert refused(limiter, "addr:10.0.0.9") in (20, 21)
            assert time.monotonic() - started < 2  # a refused connection costs nothing like a timeout per request
        warnings = [r for r in caplog.records if "shared rate limits unavailable" in r.getMessage()]
        assert len(warnings) == 1  # once per outage, not once per request
    finally:
        state.close()


def test_a_redis_that_hangs_holds_up_one_request_for_half_a_second_at_most() -> None:
    with socket.socket() as silent:  # accepts connections (the kernel's backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        state = SharedState(f"redis://127.0.0.1:{silent.getsockname()[1]}/0", "zeltest:hang:")
        try:
            limiter = RateLimiter(3, state.buckets("auth"))
            started = time.monotonic()
            limiter.check("addr:10.0.0.7")  # waits for the command timeout once, then the local bucket answers
            assert 0.4 < time.monotonic() - started < 1.5
            started = time.monotonic()
            for _ in range(2):
                limiter.check("addr:10.0.0.7")
            assert refused(limiter, "addr:10.0.0.7") in (20, 21)
            assert time.monotonic() - started < 0.1  # Redis is not asked again for a while
            started = time.monotonic()
            state.publish_standings({"91440604MA00000005"})  # a commit's announcement: dropped, not retried
            assert time.monotonic() - started < 1.5
        finally:
            state.close()


def test_the_shared_buckets_are_used_again_when_redis_is_back(replicas, monkeypatch) -> None:
    import api.http.limits as limits

    monkeypatch.setattr(limits, "SHARED_RETRY_SECONDS", 0.0)
    good = replicas()
    down = SharedState(closed_port_url(), good.prefix)
    try:
        limiter = RateLimiter(3, down.buckets("auth"))
        limiter.check("addr:10.0.0.5")  # Redis down: the local bucket took it
        assert limiter._buckets
        limiter.shared = good.buckets("auth")  # Redis reachable again (the retry delay is 0 here)
        for _ in range(3):
            limiter.check("addr:10.0.0.5")
        assert refused(RateLimiter(3, replicas().buckets("auth")), "addr:10.0.0.5") in (20, 21)
    finally:
        down.close()


# -- standing invalidation --------------------------------------------------------------------------------


def commend(platform, sessions, summary: str) -> None:
    with transaction(sessions) as s:
        workflows.record(
            platform.ctx.credit,
            s,
            uscc=platform.usccs[0],
            type="commendation",
            department="amr.440604",
            decided_on=date.today(),
            summary=summary,
            reference="",
            actor="user:test",
        )


def wait_until(condition: Callable[[], bool], seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_a_commit_on_one_replica_drops_the_others_cached_standing(platform, replicas) -> None:
    """Two replicas (two engines on one store, each with its cache and its Redis connection), a ttl of five
    minutes: only the announcement can make replica B see replica A's write within seconds."""
    uscc, url = platform.usccs[0], platform.ctx.settings.db_url
    engines = [make_engine(url) for _ in range(3)]
    try:
        sessions_a, sessions_b, sessions_cli = (session_factory(e) for e in engines)
        state_a, state_b = replicas(), replicas()
        cache_a = StandingCache(sessions_a, ttl=300, publish=state_a.publish_standings)
        cache_b = StandingCache(sessions_b, ttl=300, publish=state_b.publish_standings)
        state_a.listen_standings(cache_a.invalidate, cache_a.clear)
        state_b.listen_standings(cache_b.invalidate, cache_b.clear)
        assert state_a.listening.wait(5) and state_b.listening.wait(5)

        def records_seen_by_b() -> int:
            with sessions_b() as s:
                shown = cache_b.standing(platform.ctx.credit, s, uscc, "public")
            assert shown is not None
            return len(shown["records"])

        assert records_seen_by_b() == 0
        # A writer that announces nothing (a process without Redis): B keeps serving its cached standing.
        commend(platform, sessions_cli, "守合同重信用")
        time.sleep(0.3)
        assert records_seen_by_b() == 0
        # Replica A writes: B drops its entry on the announcement and reads both records.
        commend(platform, sessions_a, "纳税信用A级")
        assert wait_until(lambda: records_seen_by_b() == 2), "replica B kept a stale standing"
        # And the other way round.
        with sessions_a() as s:
            assert len((cache_a.standing(platform.ctx.credit, s, uscc, "public") or {})["records"]) == 2
        commend(platform, sessions_b, "重合同守信用企业")
        assert wait_until(lambda: len(cache_a._entries) == 0), "replica A kept a stale standing"
    finally:
        for engine in engines:
            engine.dispose()


def test_a_replica_skips_its_own_announcements_and_malformed_ones(replicas, prefix) -> None:
    state, other = replicas(), replicas()
    dropped: list[set[str]] = []
    state.listen_standings(dropped.append, lambda: None)
    assert state.listening.wait(5)
    state.publish_standings({"91440604MA00000001"})  # its own: already invalidated locally at commit
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.publish(state.channel, b"not json")
        client.publish(state.channel, json.dumps({"origin": "x"}))
    finally:
        client.close()
    other.publish_standings({"91440604MA00000002", "91440604MA00000003"})
    assert wait_until(lambda: len(dropped) > 0)
    time.sleep(0.2)
    assert dropped == [{"91440604MA00000002", "91440604MA00000003"}]
    assert state.channel == f"{prefix}standings"


def test_a_lost_subscription_reconnects_and_clears_the_cache(replicas, prefix) -> None:
    """Announcements made while the listener was away are lost: a resubscription drops every cached standing."""
    state = replicas()
    cleared: list[float] = []
    dropped: list[set[str]] = []
    state.listen_standings(dropped.append, lambda: cleared.append(time.monotonic()))
    assert state.listening.wait(5) and len(cleared) == 1
    admin = redis.Redis.from_url(REDIS_URL)
    try:
        # Kill this listener's connection only (other tests' listeners share the server).
        mine = [c for c in admin.client_list() if c.get("name") == state.client_name and int(c.get("sub", 0)) > 0]
        assert len(mine) == 1
        admin.client_kill_filter(_id=mine[0]["id"])
        assert wait_until(lambda: len(cleared) == 2, 10), "the listener did not resubscribe"
        assert state.listening.wait(5)
        replicas().publish_standings({"91440604MA00000004"})
        assert wait_until(lambda: dropped == [{"91440604MA00000004"}])
    finally:
        admin.close()


def test_redis_down_leaves_commits_and_the_ttl_alone(platform, caplog) -> None:
    """Documented in docs/operations.md: a write commits, its announcement is dropped with one warning, and other
    processes see it within the cache's ttl, as without Redis."""
    engine = make_engine(platform.ctx.settings.db_url)
    state = SharedState(closed_port_url(), "zeltest:down:")
    try:
        sessions = session_factory(engine)
        cache = StandingCache(sessions, ttl=300, publish=state.publish_standings)
        state.listen_standings(cache.invalidate, cache.clear)
        with caplog.at_level(logging.WARNING, logger="api.shared_state"):
            commend(platform, sessions, "守合同重信用")
            commend(platform, sessions, "纳税信用A级")
            time.sleep(0.5)
        assert not state.listening.is_set()
        with sessions() as s:
            assert len((cache.standing(platform.ctx.credit, s, platform.usccs[0], "public") or {})["records"]) == 2
        messages = [r.getMessage() for r in caplog.records]
        assert sum("cannot announce credit writes" in m for m in messages) == 1
        assert sum("lost the Redis channel" in m for m in messages) == 1  # retried quietly since
    finally:
        state.close()
        engine.dispose()


def test_the_composition_root_shares_through_redis_when_configured(platform, prefix) -> None:
    """`build_context` with ZEL_REDIS_URL: the service's limiters keep their buckets in Redis, and its standing
    cache (five minutes here) follows another process's announced write within seconds."""
    from fastapi.testclient import TestClient

    from api.context import build_context
    from api.http.app import create_app
    from api.settings import Settings

    platform.ctx.ledger.close()  # the embedded chain has one holder: this test's service takes it over
    settings = Settings(
        data_dir=platform.ctx.settings.root,
        database_url=platform.ctx.settings.database_url,
        redis_url=REDIS_URL,
        redis_prefix=prefix,
        standing_cache_seconds=300,
    )
    ctx = build_context(settings)
    engines = [make_engine(settings.db_url) for _ in range(2)]
    cli_state = SharedState(REDIS_URL, prefix)  # a `zel` command with the same ZEL_REDIS_URL
    try:
        assert ctx.shared is not None and ctx.shared.listening.wait(5)
        quiet, announcing = (session_factory(e) for e in engines)
        StandingCache(announcing, ttl=300, publish=cli_state.publish_standings)
        url = f"/v1/public/enterprises/{platform.usccs[0]}/standing"
        with TestClient(create_app(ctx), raise_server_exceptions=False) as client:
            assert client.get(url).json()["records"] == []
            commend(platform, quiet, "守合同重信用")  # announced by nobody: the cached profile stays
            time.sleep(0.3)
            assert client.get(url).json()["records"] == []
            commend(platform, announcing, "纳税信用A级")
            assert wait_until(lambda: len(client.get(url).json()["records"]) == 2)
            answer = client.post("/v1/auth/login", json={"username": "nobody", "password": "wrong"})
            assert answer.status_code == 401
        keys = redis.Redis.from_url(REDIS_URL)
        try:
            assert list(keys.scan_iter(match=f"{prefix}rate:auth:*"))
        finally:
            keys.close()
    finally:
        ctx.close()
        cli_state.close()
        for engine in engines:
            engine.dispose()
    assert ctx.shared._thread is not None and not ctx.shared._thread.is_alive()


# -- two real replicas ------------------------------------------------------------------------------------


def test_two_zel_serve_processes_share_the_sign_in_limit(zel_bin, tmp_path, prefix, provisioned_data_dir) -> None:
    """Two `zel serve` processes on one Redis: three sign-in attempts a minute per address, counted across both.
    (Each runs on its own copy of the provisioned development data: the limit does not depend on the store.)"""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZEL_")} | {
        "ZEL_KDF_N": "1024",
        "ZEL_REDIS_URL": REDIS_URL,
        "ZEL_REDIS_PREFIX": prefix,
        "ZEL_AUTH_RATE_PER_MINUTE": "3",
    }
    ports = [free_port(), free_port()]
    for i in range(2):
        shutil.copytree(provisioned_data_dir, tmp_path / f"d{i}")
    procs = [
        subprocess.Popen(
            [zel_bin, "serve", "--port", str(port), "--data-dir", str(tmp_path / f"d{i}")],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        for i, port in enumerate(ports)
    ]
    try:
        for proc, port in zip(procs, ports, strict=True):
            deadline = time.monotonic() + 120
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2):
                        break
                except OSError:
                    assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                    assert time.monotonic() < deadline, "zel serve did not become ready"
                    time.sleep(0.3)

        def sign_in(port: int, attempt: int) -> tuple[int, str | None]:
            body = json.dumps({"username": f"nobody{attempt}", "password": "wrong"}).encode()
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/v1/auth/login", body, {"Content-Type": "application/json"}
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as r:
                    return r.status, None
            except urllib.error.HTTPError as exc:
                return exc.code, exc.headers.get("Retry-After")

        started = time.monotonic()
        answers = [sign_in(ports[i % 2], i) for i in range(4)]
        assert [status for status, _ in answers[:3]] == [401, 401, 401]
        # Refused by the second replica after two attempts there and one at the first; each sign-in costs a
        # password check, so the bucket has refilled for a few seconds: the next token is under 20 s away.
        elapsed = time.monotonic() - started
        assert answers[3][0] == 429 and 20 - elapsed <= int(answers[3][1] or 0) <= 21
        assert sign_in(ports[0], 5)[0] == 429  # the first replica, too
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.communicate(timeout=30)


class AskedFrom:
    """Real Redis buckets that note, for each question, whether it was asked on a running event loop."""

    def __init__(self, inner) -> None:
        self.inner, self.on_loop = inner, []

    def take(self, key: str, rate: float, capacity: float) -> int:
        import asyncio

        try:
            asyncio.get_running_loop()
            self.on_loop.append(True)
        except RuntimeError:
            self.on_loop.append(False)
        return self.inner.take(key, rate, capacity)


def test_the_shared_limit_of_an_expensive_route_is_asked_off_the_event_loop(platform, replicas) -> None:
    """A Redis round trip (up to its timeout while Redis is down) must not hold every other request up."""
    buckets = AskedFrom(replicas().buckets("expensive"))
    platform.ctx.expensive_limiter = RateLimiter(600, buckets)
    number = platform.certs["enterprise"]
    r = platform.client.get(f"/v1/enterprise/certificates/{number}/pdf", headers=platform.headers("enterprise"))
    assert r.status_code == 200 and buckets.on_loop == [False]
    platform.ctx.expensive_limiter = RateLimiter(1, buckets)  # the same Redis bucket, now holding one token at most
    statuses = [
        platform.client.get(f"/v1/enterprise/certificates/{number}/pdf", headers=platform.headers("enterprise"))
        for _ in range(2)
    ]
    assert [s.status_code for s in statuses] == [200, 429] and buckets.on_loop == [False, False, False]

"""Compressed response bodies: the response cap applies to *decoded* bytes as they are produced,
and nested Content-Encodings are refused, so a decompression bomb costs no more memory than the
cap. Memory is measured with tracemalloc (peak of Python allocations during the action).
"""

from __future__ import annotations

import asyncio
import ipaddress
import tracemalloc
import zlib
from collections.abc import Iterator
from functools import cache

import pytest

from runner_svc.actions import ActionDispatcher
from runner_svc.actions.http.target_policy import TargetPolicy
from shared.actions import HttpRequestAction
from shared.domain.models import ActionResult, ActionResultStatus
from tests.runners import Runners, runners_fixture  # noqa: F401  (the fixture)
from tests.target_server import TargetServer

BOUND_S = 20.0
OK, FAILED = ActionResultStatus.OK, ActionResultStatus.FAILED
CAP = 1_048_576  # HTTP_MAX_RESPONSE_BYTES's default
INFLATED = 100 * 1024 * 1024  # what the bomb inflates to
PEAK_BOUND = 8 * 1024 * 1024  # the whole action, cap included; the old code peaked at >= 64 MiB
POLICY = TargetPolicy([], [ipaddress.ip_network("127.0.0.1/32")])


def compress(data_chunks: Iterator[bytes], wbits: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    return b"".join(packer.compress(chunk) for chunk in data_chunks) + packer.flush()


def zeros(total: int, chunk: int = 1024 * 1024) -> Iterator[bytes]:
    for _ in range(total // chunk):
        yield bytes(chunk)


GZIP, ZLIB, RAW = zlib.MAX_WBITS | 16, zlib.MAX_WBITS, -zlib.MAX_WBITS


@cache
def gzip_bomb() -> bytes:
    """~100 kB of gzip that inflates to 100 MiB of zeros."""
    return compress(zeros(INFLATED), GZIP)


@cache
def double_gzip_bomb() -> bytes:
    """~1 kB that inflates to the gzip bomb, which inflates to 100 MiB."""
    return compress(iter([gzip_bomb()]), GZIP)


@pytest.fixture(scope="module")
def target() -> Iterator[TargetServer]:
    server = TargetServer().start()
    yield server
    server.stop()


async def run(runner: ActionDispatcher, url: str) -> ActionResult:
    action = HttpRequestAction(action_id=1, url=url, method="GET")
    async with asyncio.timeout(BOUND_S):
        return await runner.run(action)


async def run_measured(runner: ActionDispatcher, url: str) -> tuple[ActionResult, int]:
    """The action's result and the peak of memory allocated while it ran."""
    tracemalloc.start()
    try:
        result = await run(runner, url)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


async def test_a_gzip_bomb_is_inflated_only_up_to_the_cap(
    target: TargetServer, runners: Runners
) -> None:
    body = gzip_bomb()
    assert len(body) < 200_000
    url = target.can("bomb", body, {"content-encoding": "gzip"})

    result, peak = await run_measured(runners.make(POLICY, max_response_bytes=CAP), url)

    assert result.status == OK, result.logs
    assert result.logs == f"{url} [STATUS 200] => " + "\x00" * 50
    assert peak < PEAK_BOUND, f"peak {peak / 2**20:.1f} MiB for a {CAP / 2**20:.0f} MiB cap"


async def test_nested_encodings_are_refused_without_inflating_them(
    target: TargetServer, runners: Runners
) -> None:
    body = double_gzip_bomb()
    assert len(body) < 5_000
    url = target.can("double-bomb", body, {"content-encoding": "gzip, gzip"})

    result, peak = await run_measured(runners.make(POLICY, max_response_bytes=CAP), url)

    assert result.status == FAILED
    assert result.logs.startswith(f"{url} [STATUS 500] => "), result.logs
    assert "Content-Encoding" in result.logs and "gzip, gzip" in result.logs
    assert peak < PEAK_BOUND, f"peak {peak / 2**20:.1f} MiB"


TEXT = ("decoded text " * 20).encode()


@pytest.mark.parametrize(("encoding", "body"), [
    pytest.param("gzip", compress(iter([TEXT]), GZIP), id="gzip"),
    pytest.param("x-gzip", compress(iter([TEXT]), GZIP), id="x-gzip"),
    pytest.param("deflate", compress(iter([TEXT]), ZLIB), id="deflate-zlib"),  # RFC 9110's
    pytest.param("deflate", compress(iter([TEXT]), RAW), id="deflate-raw"),  # what some send
    pytest.param("identity", TEXT, id="identity"),
    pytest.param("GZIP, identity", compress(iter([TEXT]), GZIP), id="gzip-identity"),
    pytest.param("", TEXT, id="none"),
])
async def test_compressed_bodies_are_decoded_for_the_preview(
    target: TargetServer, runners: Runners, encoding: str, body: bytes
) -> None:
    headers = {"content-encoding": encoding} if encoding else {}
    url = target.can(f"text-{len(target.hits)}", body, headers)

    result = await run(runners.make(POLICY), url)

    assert result.status == OK
    assert result.logs == f"{url} [STATUS 200] => {TEXT.decode()[:50]}"


async def test_the_cap_counts_decoded_bytes(target: TargetServer, runners: Runners) -> None:
    # 2 MB of text, ~10 kB compressed: past a 100 kB cap once decoded, far below it raw.
    text = b"".join(f"line {n:07d}\n".encode() for n in range(150_000))
    url = target.can("long-text", compress(iter([text]), GZIP), {"content-encoding": "gzip"})

    result, peak = await run_measured(runners.make(POLICY, max_response_bytes=100_000), url)

    assert result.status == OK
    assert result.logs == f"{url} [STATUS 200] => {text[:50].decode()}"
    assert peak < 2 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB for a 100 kB cap"


async def test_a_corrupt_gzip_body_fails_the_action(
    target: TargetServer, runners: Runners
) -> None:
    url = target.can("corrupt", b"\x1f\x8b\x08\x00not gzip at all", {"content-encoding": "gzip"})

    result = await run(runners.make(POLICY), url)

    assert result.status == FAILED
    assert result.logs.startswith(f"{url} [STATUS 500] => "), result.logs
    assert "gzip" in result.logs


async def test_only_the_encodings_it_decodes_boundedly_are_asked_for(
    target: TargetServer, runners: Runners
) -> None:
    url = target.can("plain", TEXT, {})

    await run(runners.make(POLICY), url)

    assert target.requests[-1][1]["accept-encoding"] == "gzip, deflate"

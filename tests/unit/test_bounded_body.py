"""BoundedInflater: decoding never produces more than it is given room for, step by step."""

from __future__ import annotations

import zlib
from typing import Any

import pytest

from runner_svc.actions.http import bounded_body
from runner_svc.actions.http.bounded_body import DECODE_STEP, BoundedInflater, UndecodableBody

GZIP = zlib.MAX_WBITS | 16
DECOMPRESSOBJ = zlib.decompressobj


def gzip(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, GZIP)
    return packer.compress(data) + packer.flush()


class Recording:
    """A decompressobj that records the size of everything it produces."""

    def __init__(self, wbits: int, outputs: list[int]) -> None:
        self._inner = DECOMPRESSOBJ(wbits)
        self._outputs = outputs

    def decompress(self, data: bytes, max_length: int = 0) -> bytes:
        out = self._inner.decompress(data, max_length)
        self._outputs.append(len(out))
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def test_a_bomb_chunk_yields_only_the_room_in_bounded_steps(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    outputs: list[int] = []
    monkeypatch.setattr(bounded_body.zlib, "decompressobj", lambda w: Recording(w, outputs))
    bomb = gzip(bytes(50 * 1024 * 1024))  # ~50 kB -> 50 MiB
    inflater = BoundedInflater("gzip")

    out = inflater.feed(bomb, 300_000)

    assert out == bytes(300_000)
    assert max(outputs) <= DECODE_STEP
    assert sum(outputs) == 300_000  # nothing decoded beyond the room
    assert not inflater.done


def test_feeding_in_pieces_decodes_the_whole_body() -> None:
    text = b"".join(b"%06d," % n for n in range(50_000))
    packed = gzip(text)
    inflater = BoundedInflater("gzip")

    out = b"".join(inflater.feed(packed[i:i + 1000], 10**9) for i in range(0, len(packed), 1000))

    assert out == text and inflater.done


def test_raw_deflate_is_read_when_the_zlib_wrapper_is_missing() -> None:
    packer = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    raw = packer.compress(b"raw deflate " * 10) + packer.flush()

    assert BoundedInflater("deflate").feed(raw, 1000) == b"raw deflate " * 10


def test_garbage_is_an_undecodable_body() -> None:
    with pytest.raises(UndecodableBody, match="gzip body does not decode"):
        BoundedInflater("gzip").feed(b"\x1f\x8b\x08\x00 certainly not gzip", 1000)

"""Reading a response body with a cap on the *decoded* bytes, decoding as it goes.

HTTP clients' own decoders inflate each network chunk whole (64 kB of gzip can become 64 MB
before any cap looks at it), so the client reads the raw stream (aiohttp's
`auto_decompress=False`) and here it is decoded with `decompressobj.decompress(data,
max_length)`, so no step produces more than DECODE_STEP bytes and decoding stops at the cap.
One content coding is decoded (gzip, x-gzip, deflate); a response that stacks several (`gzip,
gzip`: a kilobyte that inflates to gigabytes) is refused. Codings it does not know (it never
asks for them: ACCEPT_ENCODING) are kept as they came, raw bytes capped alike.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterable

ACCEPT_ENCODING = "gzip, deflate"
DECODE_STEP = 64 * 1024
MAX_CONTENT_CODINGS = 1
_GZIP, _ZLIB, _RAW_DEFLATE = zlib.MAX_WBITS | 16, zlib.MAX_WBITS, -zlib.MAX_WBITS
_WBITS = {"gzip": _GZIP, "x-gzip": _GZIP, "deflate": _ZLIB}


class UndecodableBody(ValueError):
    """The body's Content-Encoding is refused, or its bytes do not decode."""


class BoundedInflater:
    """zlib decoding that never produces more than asked for."""

    def __init__(self, coding: str) -> None:
        self._coding = coding
        self._wbits = _WBITS[coding]
        self._inflater = zlib.decompressobj(self._wbits)
        self._started = False

    @property
    def done(self) -> bool:
        return self._inflater.eof

    def feed(self, data: bytes, room: int) -> bytes:
        """Decode `data`, returning at most `room` bytes (whatever did not fit is dropped)."""
        out = bytearray()
        while data and len(out) < room and not self._inflater.eof:
            step = min(DECODE_STEP, room - len(out))
            try:
                chunk = self._inflater.decompress(data, step)
            except zlib.error as exc:
                if self._wbits == _ZLIB and not self._started:
                    # "deflate" sent without its zlib wrapper: read it as raw deflate.
                    self._wbits = _RAW_DEFLATE
                    self._inflater = zlib.decompressobj(_RAW_DEFLATE)
                    continue
                raise UndecodableBody(f"{self._coding} body does not decode: {exc}") from exc
            self._started = True
            tail = self._inflater.unconsumed_tail
            if not chunk and len(tail) == len(data):
                break  # no progress (zlib always makes some while there is room)
            out += chunk
            data = tail
        return bytes(out)


def content_codings(header: str) -> list[str]:
    """The content codings a Content-Encoding header lists, `identity` left out."""
    codings = [c.strip().lower() for c in header.split(",")]
    return [c for c in codings if c and c != "identity"]


async def read_capped(content_encoding: str, raw: AsyncIterable[bytes], max_bytes: int) -> bytes:
    """At most `max_bytes` of the body `raw` decoded per `content_encoding`; reads no more of the
    raw stream than that takes (and never more than `max_bytes` raw bytes either)."""
    codings = content_codings(content_encoding)
    if len(codings) > MAX_CONTENT_CODINGS:
        raise UndecodableBody(
            f"refused: Content-Encoding {content_encoding!r} stacks {len(codings)} codings "
            f"(at most {MAX_CONTENT_CODINGS} is decoded)"
        )
    inflater = BoundedInflater(codings[0]) if codings and codings[0] in _WBITS else None
    body = bytearray()
    raw_read = 0
    async for chunk in raw:
        raw_read += len(chunk)
        room = max_bytes - len(body)
        body += inflater.feed(chunk, room) if inflater else chunk[:room]
        if len(body) >= max_bytes or raw_read >= max_bytes or (inflater and inflater.done):
            break
    return bytes(body)

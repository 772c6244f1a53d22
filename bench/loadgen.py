"""A lean HTTP/1.1 keep-alive client: the fallback load generator when wrk cannot be
installed (bench/drive.py). httpx spends ~1.5 ms of CPU per request, this about a third of
that, wrk a small fraction: on a 2-core machine a Python generator competes with the
system it measures."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit

Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]
IDLE_LIMIT_S = 3.0  # uvicorn closes keep-alive connections idle for 5 s


class _ClosedBeforeAnswer(ConnectionError):
    """A reused connection was closed by the server before any answer."""


class HttpPool:
    """POSTs with an empty body over up to `max_connections` reused connections."""

    def __init__(self, base_url: str, *, max_connections: int = 256) -> None:
        parts = urlsplit(base_url)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 80
        self._idle: list[tuple[Connection, float]] = []
        self._gate = asyncio.Semaphore(max_connections)
        self._open: set[asyncio.StreamWriter] = set()

    async def post(self, path: str, *, timeout_s: float = 30.0) -> tuple[int, float, str | None]:
        """The response's status code (the body is read and dropped), the time.time()
        at which the request started, once a connection slot was free, and Retry-After."""
        async with self._gate:
            started = time.time()
            conn = self._reusable()
            try:
                async with asyncio.timeout(timeout_s):
                    if conn is not None:
                        try:
                            status, keep, retry = await self._exchange(conn, path)
                        except _ClosedBeforeAnswer:
                            # The server closed it while idle: it never saw the request.
                            self._close(conn)
                            conn = None
                    if conn is None:
                        conn = await self._connect()
                        status, keep, retry = await self._exchange(conn, path)
            except BaseException:
                if conn is not None:
                    self._close(conn)
                raise
            if keep:
                self._idle.append((conn, time.monotonic()))
            else:
                self._close(conn)
            return status, started, retry

    def _reusable(self) -> Connection | None:
        """The most recently used idle connection not near the server's keep-alive limit."""
        while self._idle:
            conn, since = self._idle.pop()
            if time.monotonic() - since < IDLE_LIMIT_S and not conn[0].at_eof():
                return conn
            self._close(conn)
        return None

    async def _connect(self) -> Connection:
        reader, writer = await asyncio.open_connection(self._host, self._port)
        self._open.add(writer)
        return reader, writer

    async def _exchange(self, conn: Connection, path: str) -> tuple[int, bool, str | None]:
        reader, writer = conn
        writer.write(
            f"POST {path} HTTP/1.1\r\nHost: {self._host}:{self._port}\r\n"
            "Content-Length: 0\r\n\r\n".encode()
        )
        await writer.drain()
        status_line = await reader.readline()
        if not status_line:
            raise _ClosedBeforeAnswer("connection closed by the server")
        status = int(status_line.split()[1])
        length, chunked, keep, retry = 0, False, True, None
        while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value:
                chunked = True
            elif name == "connection" and value == "close":
                keep = False
            elif name == "retry-after":
                retry = value
        if chunked:
            while size := int((await reader.readline()).split(b";")[0], 16):
                await reader.readexactly(size + 2)
            await reader.readline()
        elif length:
            await reader.readexactly(length)
        return status, keep, retry

    def _close(self, conn: Connection) -> None:
        self._open.discard(conn[1])
        conn[1].close()

    async def aclose(self) -> None:
        for writer in list(self._open):
            writer.close()
        self._open.clear()
        self._idle.clear()

"""A one-response-per-connection HTTPS server on 127.0.0.1 with a self-signed certificate for
a chosen name; it records the SNI name and the Host header of each request."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
from dataclasses import dataclass, field
from pathlib import Path


def self_signed(directory: Path, name: str) -> tuple[Path, Path]:
    """(cert, key) for `name`, made by the openssl command-line tool."""
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )
    return cert, key


@dataclass
class TlsServer:
    cert: Path
    key: Path
    sni: list[str | None] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts this server's certificate (and verifies the name)."""
        return ssl.create_default_context(cafile=str(self.cert))

    async def start(self) -> TlsServer:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(self.cert), str(self.key))
        context.sni_callback = lambda _sock, name, _ctx: self.sni.append(name) or None
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=context)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            host = next((line.split(":", 1)[1].strip() for line in head.split("\r\n")
                         if line.lower().startswith("host:")), "")
            self.hosts.append(host)
            body = f"host={host}".encode()
            writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: "
                         + str(len(body)).encode() + b"\r\n\r\n" + body)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

#!/usr/bin/env python3
"""Protocol-level readiness probes for start-deps.sh (standard library only).

    probe.py kafka HOST:PORT [TIMEOUT]   Kafka ApiVersions + Metadata request; exit 0 when the
                                         broker answers with at least one registered broker.
    probe.py mongo URL [TIMEOUT]         MongoDB OP_MSG ping + buildInfo + hello; exit 0 when
                                         the server is a writable primary.
    probe.py mongo-rs-init URL SET MEMBER[,MEMBER...] [TIMEOUT]
                                         initiate replica set SET with these members, once
                                         (idempotent); every member must answer first.
    probe.py mongo-cluster URL [TIMEOUT] every member of the URL's seed list answers, one is
                                         a writable primary, the others healthy secondaries.
    probe.py mongo-member HOST:PORT [TIMEOUT]
                                         the member answers; prints its replica set state.
    probe.py kafka-cluster H:P,H:P,... [TIMEOUT]
                                         every listed broker answers, and each one's metadata
                                         lists all of them.
    probe.py port HOST:PORT [TIMEOUT]    exit 0 when something accepts TCP connections.

On success one line describing the server is printed. On failure the reason goes to stderr
and the exit code is 1. Standard library only, so that it runs before the project's virtual
environment exists (any python3 >= 3.8 will do).
"""

from __future__ import annotations

import socket
import struct
import sys
import urllib.parse

# ---------------------------------------------------------------- helpers


def _split_host_port(target: str, default_port: int) -> tuple[str, int]:
    target = target.strip()
    if target.startswith("["):  # [::1]:9092
        host, _, rest = target[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else default_port
    host, sep, port_text = target.rpartition(":")
    if not sep:
        return target, default_port
    return host, int(port_text)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed by server")
        buf += chunk
    return bytes(buf)


# ---------------------------------------------------------------- Kafka

API_METADATA = 3
API_VERSIONS = 18


def _kafka_request(
    sock: socket.socket, api_key: int, version: int, corr: int, body: bytes
) -> bytes:
    client_id = b"start-deps-probe"
    header = struct.pack(">hhih", api_key, version, corr, len(client_id)) + client_id
    payload = header + body
    sock.sendall(struct.pack(">i", len(payload)) + payload)
    (size,) = struct.unpack(">i", _recv_exact(sock, 4))
    data = _recv_exact(sock, size)
    (got_corr,) = struct.unpack(">i", data[:4])
    if got_corr != corr:
        raise ConnectionError(f"unexpected correlation id {got_corr}")
    return data[4:]


def _read_str(data: bytes, off: int) -> tuple[str | None, int]:
    (n,) = struct.unpack_from(">h", data, off)
    off += 2
    if n < 0:
        return None, off
    return data[off : off + n].decode(), off + n


def probe_kafka(target: str, timeout: float) -> str:
    """One broker answers (of a comma-separated bootstrap list: the first that does)."""
    brokers = [t.strip() for t in target.split(",") if t.strip()]
    if len(brokers) > 1:
        failures = []
        for broker in brokers:
            try:
                return probe_kafka(broker, timeout)
            except (OSError, ValueError, struct.error, IndexError) as exc:
                failures.append(f"{broker}: {exc}")
        raise ConnectionError("no broker answers: " + "; ".join(failures))
    host, port = _split_host_port(target, 9092)
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        # ApiVersions v0: supported by every broker, tells which Metadata versions it serves.
        resp = _kafka_request(sock, API_VERSIONS, 0, 1, b"")
        (err,) = struct.unpack_from(">h", resp, 0)
        if err:
            raise ConnectionError(f"ApiVersions error code {err}")
        (count,) = struct.unpack_from(">i", resp, 2)
        versions = {}
        for i in range(count):
            key, vmin, vmax = struct.unpack_from(">hhh", resp, 6 + 6 * i)
            versions[key] = (vmin, vmax)
        if API_METADATA not in versions:
            raise ConnectionError("broker does not serve Metadata")
        vmin, vmax = versions[API_METADATA]
        if not vmin <= 4 <= vmax:
            raise ConnectionError(f"broker serves Metadata v{vmin}..v{vmax}, probe speaks v4")
        # Metadata v4: topics = null (all), allow_auto_topic_creation = false.
        resp = _kafka_request(sock, API_METADATA, 4, 2, struct.pack(">ib", -1, 0))
        off = 4  # throttle_time_ms
        (nbrokers,) = struct.unpack_from(">i", resp, off)
        off += 4
        brokers = []
        for _ in range(nbrokers):
            (node_id,) = struct.unpack_from(">i", resp, off)
            off += 4
            bhost, off = _read_str(resp, off)
            (bport,) = struct.unpack_from(">i", resp, off)
            off += 4
            _rack, off = _read_str(resp, off)
            brokers.append(f"{node_id}@{bhost}:{bport}")
        cluster_id, off = _read_str(resp, off)
        (controller,) = struct.unpack_from(">i", resp, off)
        if not brokers:
            raise ConnectionError("metadata lists no broker yet")
        return (
            f"kafka ok: brokers={','.join(brokers)} cluster_id={cluster_id} "
            f"controller={controller} api_keys={len(versions)}"
        )


def probe_kafka_cluster(targets: str, timeout: float) -> str:
    """Ready = every listed broker answers, and each one's metadata lists all of them."""
    listed = [t.strip() for t in targets.split(",") if t.strip()]
    problems = []
    for target in listed:
        try:
            line = probe_kafka(target, timeout)
        except (OSError, ValueError, struct.error, IndexError) as exc:
            problems.append(f"{target}: {type(exc).__name__}: {exc}")
            continue
        registered = line.split("brokers=", 1)[1].split(" ", 1)[0].split(",")
        if len(registered) < len(listed):
            problems.append(f"{target} knows {len(registered)} of {len(listed)} brokers")
    if problems:
        raise ConnectionError("; ".join(problems))
    return f"kafka cluster ok: {len(listed)} brokers answer; {probe_kafka(listed[0], timeout)}"


# ---------------------------------------------------------------- MongoDB

OP_MSG = 2013


def _bson_cstring(s: str) -> bytes:
    return s.encode() + b"\x00"


def _bson_encode(doc: dict[str, object]) -> bytes:
    out = bytearray()
    for key, value in doc.items():
        if isinstance(value, bool):
            out += b"\x08" + _bson_cstring(key) + (b"\x01" if value else b"\x00")
        elif isinstance(value, int):
            out += b"\x10" + _bson_cstring(key) + struct.pack("<i", value)
        elif isinstance(value, str):
            raw = value.encode() + b"\x00"
            out += b"\x02" + _bson_cstring(key) + struct.pack("<i", len(raw)) + raw
        elif isinstance(value, dict):
            out += b"\x03" + _bson_cstring(key) + _bson_encode(value)
        elif isinstance(value, list):
            items = {str(i): item for i, item in enumerate(value)}
            out += b"\x04" + _bson_cstring(key) + _bson_encode(items)
        else:
            raise TypeError(type(value))
    return struct.pack("<i", len(out) + 5) + bytes(out) + b"\x00"


def _bson_decode(data: bytes, off: int = 0) -> tuple[dict[str, object], int]:
    (size,) = struct.unpack_from("<i", data, off)
    end = off + size - 1
    off += 4
    doc: dict[str, object] = {}
    while off < end:
        kind = data[off]
        off += 1
        nul = data.index(b"\x00", off)
        key = data[off:nul].decode()
        off = nul + 1
        value: object
        if kind == 0x01:
            (value,) = struct.unpack_from("<d", data, off)
            off += 8
        elif kind in (0x02, 0x0D, 0x0E):
            (n,) = struct.unpack_from("<i", data, off)
            value = data[off + 4 : off + 4 + n - 1].decode(errors="replace")
            off += 4 + n
        elif kind in (0x03, 0x04):
            sub, off = _bson_decode(data, off)
            value = list(sub.values()) if kind == 0x04 else sub
        elif kind == 0x05:
            (n,) = struct.unpack_from("<i", data, off)
            value = data[off + 5 : off + 5 + n]
            off += 5 + n
        elif kind == 0x07:
            value = data[off : off + 12].hex()
            off += 12
        elif kind == 0x08:
            value = data[off] != 0
            off += 1
        elif kind in (0x09, 0x11, 0x12):
            (value,) = struct.unpack_from("<q", data, off)
            off += 8
        elif kind in (0x06, 0x0A, 0x7F, 0xFF):
            value = None
        elif kind == 0x10:
            (value,) = struct.unpack_from("<i", data, off)
            off += 4
        elif kind == 0x13:
            value = data[off : off + 16]
            off += 16
        else:
            raise ValueError(f"unsupported BSON type 0x{kind:02x}")
        doc[key] = value
    return doc, end + 1


def _mongo_command(
    sock: socket.socket, request_id: int, command: dict[str, object]
) -> dict[str, object]:
    body = struct.pack("<I", 0) + b"\x00" + _bson_encode(command)
    header = struct.pack("<iiii", 16 + len(body), request_id, 0, OP_MSG)
    sock.sendall(header + body)
    length, _rid, _to, opcode = struct.unpack("<iiii", _recv_exact(sock, 16))
    data = _recv_exact(sock, length - 16)
    if opcode != OP_MSG:
        raise ConnectionError(f"unexpected reply opcode {opcode}")
    if data[4] != 0:
        raise ConnectionError("unexpected OP_MSG section kind")
    doc, _ = _bson_decode(data, 5)
    return doc


def _mongo_host_port(url: str) -> tuple[str, int]:
    if "://" not in url:
        return _split_host_port(url, 27017)
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme != "mongodb":
        raise ValueError(f"unsupported scheme {parsed.scheme!r} (only mongodb://)")
    netloc = parsed.netloc.rpartition("@")[2]
    return _split_host_port(netloc.split(",")[0], 27017)


def probe_mongo(url: str, timeout: float) -> str:
    """Ready = ping ok and the server is a writable primary (or a standalone). A URL naming
    several members (a replica set's seed list) is ready when one of them is the primary."""
    members = _mongo_seed_list(url)
    if len(members) > 1:
        failures = []
        for member in members:
            try:
                return probe_mongo(member, timeout)
            except (OSError, ValueError, struct.error, IndexError) as exc:
                failures.append(f"{member}: {exc}")
        raise ConnectionError("no member is a writable primary: " + "; ".join(failures))
    host, port = _mongo_host_port(url)
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        ping = _mongo_command(sock, 1, {"ping": 1, "$db": "admin"})
        if ping.get("ok") != 1:
            raise ConnectionError(f"ping failed: {ping}")
        info = _mongo_command(sock, 2, {"buildInfo": 1, "$db": "admin"})
        hello = _mongo_command(sock, 3, {"hello": 1, "$db": "admin"})
    if not hello.get("isWritablePrimary"):
        raise ConnectionError(f"not a writable primary (setName={hello.get('setName')})")
    version = info.get("version", "?")
    git = str(info.get("gitVersion") or "?")
    topology = f"replset={hello['setName']}" if hello.get("setName") else "standalone"
    return (
        f"mongo ok: MongoDB {version} (mongod, git {git[:12]}) wire={hello.get('maxWireVersion')}"
        f" {topology}"
    )


def _hello(target: str, timeout: float) -> dict[str, object]:
    host, port = _split_host_port(target, 27017)
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        return _mongo_command(sock, 1, {"hello": 1, "$db": "admin"})


def _mongo_seed_list(url: str) -> list[str]:
    """Every host:port of a mongodb:// URL (or of a bare comma-separated list)."""
    if "://" in url:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme != "mongodb":
            raise ValueError(f"unsupported scheme {parsed.scheme!r} (only mongodb://)")
        url = parsed.netloc.rpartition("@")[2]
    return [part.strip() for part in url.split(",") if part.strip()]


def init_replica_set(url: str, set_name: str, members: str, timeout: float) -> str:
    """Initiate replica set `set_name` with `members` (comma-separated host:port, the first
    one being the server at `url`) unless it is initiated already (idempotent).

    Every member must answer before the initiation is sent (replSetInitiate checks that it
    can reach them); until then this fails, and the caller retries."""
    hosts = [m.strip() for m in members.split(",") if m.strip()]
    for member in hosts[1:]:
        _hello(member, timeout)  # raises while a member is not up yet
    host, port = _mongo_host_port(url)
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        status = _mongo_command(sock, 1, {"replSetGetStatus": 1, "$db": "admin"})
        if status.get("ok") == 1:
            return f"replica set {status.get('set')} already initiated"
        if status.get("codeName") != "NotYetInitialized":
            raise ConnectionError(f"replSetGetStatus: {status.get('errmsg', status)}")
        config = {"_id": set_name,
                  "members": [{"_id": i, "host": member} for i, member in enumerate(hosts)]}
        reply = _mongo_command(sock, 2, {"replSetInitiate": config, "$db": "admin"})
    if reply.get("ok") != 1:
        raise ConnectionError(f"replSetInitiate: {reply.get('errmsg', reply)}")
    word = "member" if len(hosts) == 1 else "members"
    return f"replica set {set_name} initiated with {word} {','.join(hosts)}"


def probe_mongo_member(target: str, timeout: float) -> str:
    """One member of a replica set: it answers hello as a primary or a secondary."""
    hello = _hello(target, timeout)
    if hello.get("isWritablePrimary"):
        state = "PRIMARY"
    elif hello.get("secondary"):
        state = "SECONDARY"
    else:
        raise ConnectionError(f"neither primary nor secondary (setName={hello.get('setName')})")
    return (f"mongo member ok: {state} of replset={hello.get('setName')} "
            f"primary={hello.get('primary')}")


def probe_mongo_cluster(url: str, timeout: float) -> str:
    """Ready = every member answers, one is the writable primary, the rest are secondaries
    of the same set (so a majority write is acknowledged by all of them soon)."""
    primary, secondaries, problems, set_names = None, [], [], set()
    version = "?"
    for member in _mongo_seed_list(url):
        try:
            hello = _hello(member, timeout)
        except (OSError, ValueError, struct.error, IndexError) as exc:
            problems.append(f"{member}: {type(exc).__name__}: {exc}")
            continue
        set_names.add(hello.get("setName"))
        if hello.get("isWritablePrimary"):
            primary = member
        elif hello.get("secondary"):
            secondaries.append(member)
        else:
            problems.append(f"{member}: neither primary nor secondary")
    if primary is not None and not problems:
        version = probe_mongo(primary, timeout).split("MongoDB ", 1)[1].split(" ", 1)[0]
    if len(set_names) > 1:
        problems.append(f"members report different sets {sorted(map(str, set_names))}")
    if primary is None:
        problems.append("no writable primary")
    if problems:
        raise ConnectionError("; ".join(problems))
    return (f"mongo cluster ok: MongoDB {version} replset={set_names.pop()} primary={primary} "
            f"secondaries={','.join(secondaries) or '-'}")


# ---------------------------------------------------------------- main


def main(argv: list[str]) -> int:
    kinds = ("kafka", "mongo", "mongo-rs-init", "mongo-cluster", "mongo-member", "kafka-cluster",
             "port")
    if len(argv) < 3 or argv[1] not in kinds:
        print(__doc__, file=sys.stderr)
        return 2
    kind, target = argv[1], argv[2]
    if kind == "mongo-rs-init":
        if len(argv) < 5:
            print(__doc__, file=sys.stderr)
            return 2
        rs_args = argv[3:5]
        argv = argv[:3] + argv[5:]
    timeout = float(argv[3]) if len(argv) > 3 else 2.0
    try:
        if kind == "mongo-rs-init":
            print(init_replica_set(target, rs_args[0], rs_args[1], timeout))
        elif kind == "kafka":
            print(probe_kafka(target, timeout))
        elif kind == "mongo":
            print(probe_mongo(target, timeout))
        elif kind == "mongo-member":
            print(probe_mongo_member(target, timeout))
        elif kind == "mongo-cluster":
            print(probe_mongo_cluster(target, timeout))
        elif kind == "kafka-cluster":
            print(probe_kafka_cluster(target, timeout))
        else:
            host, port = _split_host_port(target, 0)
            socket.create_connection((host, port), timeout=timeout).close()
            print(f"port ok: {host}:{port}")
    except (OSError, ValueError, struct.error, IndexError) as exc:
        print(f"{kind} probe {target}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

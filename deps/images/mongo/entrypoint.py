#!/opt/mongo/bin/python
"""Entry point of the local mongod image (deps/images/mongo/Dockerfile).

    mongo-entrypoint [MONGOD-ARGS...]   run mongod as a single-node replica set, initiate it
                                        once, create the root user once, then wait for mongod
    mongo-entrypoint health             exit 0 when this container's mongod is a writable
                                        primary and the setup above has finished

Environment: MONGO_REPLSET (rs0), MONGO_REPLSET_HOST (the member's address as the other
containers reach it, default <hostname>:27017), MONGO_WIREDTIGER_CACHE_GB (0.25),
MONGO_INITDB_ROOT_USERNAME / MONGO_INITDB_ROOT_PASSWORD (as in the official image: when set,
access control is on, with a key file kept next to the data because a replica set with
access control needs one).

Everything here is idempotent: a restart with existing data finds the replica set
configured and the user present, and only waits for the primary.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import OperationFailure, PyMongoError

DBPATH = Path("/data/db")
KEYFILE = DBPATH / ".replset-keyfile"
READY = Path("/tmp/mongo-setup-done")  # per container start: /tmp is not in the volume
PORT = 27017
SETUP_TIMEOUT_S = 120


def log(msg: str) -> None:
    print(f"[mongo-entrypoint] {msg}", file=sys.stderr, flush=True)


def local_client(**auth: str) -> MongoClient:
    return MongoClient("127.0.0.1", PORT, directConnection=True,
                       serverSelectionTimeoutMS=2000, connectTimeoutMS=2000, **auth)


def mongod_args(extra: list[str]) -> list[str]:
    args = ["mongod", "--dbpath", str(DBPATH), "--port", str(PORT), "--bind_ip_all",
            "--replSet", os.environ.get("MONGO_REPLSET", "rs0"),
            "--wiredTigerCacheSizeGB", os.environ.get("MONGO_WIREDTIGER_CACHE_GB", "0.25")]
    if os.environ.get("MONGO_INITDB_ROOT_USERNAME"):
        if not KEYFILE.exists():
            KEYFILE.write_text(secrets.token_hex(48))  # mongod accepts base64 characters only
            KEYFILE.chmod(0o400)
        args += ["--keyFile", str(KEYFILE)]
    return args + extra


def wait_for(what: str, check: Callable[[], bool], deadline: float,
             mongod: subprocess.Popen[bytes]) -> None:
    while True:
        if mongod.poll() is not None:
            raise RuntimeError(f"{what}: mongod exited with status {mongod.returncode}")
        try:
            if check():
                return
        except PyMongoError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {SETUP_TIMEOUT_S} s")
        time.sleep(0.5)


def setup(mongod: subprocess.Popen[bytes]) -> None:
    """Initiate the replica set and create the root user, each only if not done yet."""
    deadline = time.monotonic() + SETUP_TIMEOUT_S
    client = local_client()  # the localhost exception allows this until a user exists
    wait_for("mongod answers", lambda: client.admin.command("ping")["ok"] == 1, deadline, mongod)
    hello = client.admin.command("hello")
    if "setName" not in hello:
        member = os.environ.get("MONGO_REPLSET_HOST") or f"{socket.gethostname()}:{PORT}"
        name = os.environ.get("MONGO_REPLSET", "rs0")
        log(f"initiating replica set {name} with member {member}")
        client.admin.command("replSetInitiate",
                             {"_id": name, "members": [{"_id": 0, "host": member}]})
    wait_for("writable primary",
             lambda: client.admin.command("hello").get("isWritablePrimary") is True, deadline,
             mongod)
    user = os.environ.get("MONGO_INITDB_ROOT_USERNAME")
    password = os.environ.get("MONGO_INITDB_ROOT_PASSWORD", "")
    if user:
        try:
            local_client(username=user, password=password).admin.command("ping")
        except OperationFailure:  # no such user yet (or a wrong password: createUser says so)
            log(f"creating root user {user}")
            client.admin.command("createUser", user, pwd=password,
                                 roles=[{"role": "root", "db": "admin"}])
    client.close()
    READY.touch()
    log("ready: writable primary")


def run(extra: list[str]) -> int:
    READY.unlink(missing_ok=True)
    mongod = subprocess.Popen(mongod_args(extra))
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda s, _f: mongod.send_signal(s))
    try:
        setup(mongod)
    except (PyMongoError, TimeoutError, RuntimeError) as exc:
        log(f"setup failed: {exc!r}; stopping mongod")
        mongod.terminate()
        mongod.wait()
        return 1
    return mongod.wait()


def health() -> int:
    if not READY.exists():
        return 1
    try:
        hello = local_client().admin.command("hello")
    except PyMongoError:
        return 1
    return 0 if hello.get("isWritablePrimary") is True else 1


if __name__ == "__main__":
    if sys.argv[1:2] == ["health"]:
        sys.exit(health())
    sys.exit(run(sys.argv[1:]))

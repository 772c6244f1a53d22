#!/usr/bin/env bash
# The README's commands:
#
#   ./dev.sh run            virtualenv + install + Kafka/MongoDB (start-deps.sh) + the three
#                           services in the foreground (Ctrl-C stops them; deps keep running)
#   ./dev.sh test [ARGS]    virtualenv + install + Chromium (apt, when missing) + Kafka/MongoDB
#                           + ruff + mypy + pytest [ARGS]
#   ./dev.sh images [CMD]   virtualenv + install + the container tier (deps/images.sh CMD:
#                           all | lint | build | clean): podman, images, compose stack, checks
#   ./dev.sh cluster-test [ARGS]
#                           virtualenv + install + pytest tests/cluster [ARGS]: failover tests
#                           on a private 3-node replica set + 3-broker Kafka cluster
#
# Environment: VENV (.venv), PYTHON_BIN (python3, used to create the venv), and everything
# start-deps.sh reads (DATABASE_URL, KAFKA_URL, DEPS_DIR, KAFKA_PORT, MONGO_PORT, ...).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"

VENV="${VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"
PYTHON_BIN="${PYTHON_BIN:-python3}"

say() { printf '[dev] %s\n' "$*" >&2; }
die() { printf '[dev] ERROR: %s\n' "$*" >&2; exit 1; }

ensure_venv() {
    if [[ ! -x "$PY" ]]; then
        command -v "$PYTHON_BIN" >/dev/null 2>&1 || die "$PYTHON_BIN not found (Python >= 3.11 needed)"
        "$PYTHON_BIN" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
            die "Python >= 3.11 needed, $PYTHON_BIN is $("$PYTHON_BIN" -V 2>&1)"
        say "creating virtualenv $VENV"
        "$PYTHON_BIN" -m venv "$VENV"
    fi
    # Reinstall only when pyproject.toml or constraints.txt changed since the last install.
    local stamp
    stamp="$VENV/.dev-installed-$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)"
    if [[ ! -f "$stamp" ]]; then
        say "installing the project and its dev tools (pinned by constraints.txt)"
        "$PY" -m pip install -q -c constraints.txt -e '.[dev]'
        rm -f "$VENV"/.dev-installed-*
        touch "$stamp"
    fi
    export PATH="$VENV/bin:$PATH"
}

# The browser tier (tests/browser) drives Debian's chromium through its chromedriver; missing,
# they are installed here (root, or sudo) rather than skipped. Found on PATH: no apt at all.
ensure_chromium() {
    if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
        return
    fi
    command -v apt-get >/dev/null 2>&1 ||
        die "tests/browser needs chromium and chromedriver: install them (Debian: chromium chromium-driver)"
    local sudo=()
    ((EUID == 0)) || sudo=(sudo)
    say "installing chromium and chromium-driver (Debian packages) for tests/browser"
    "${sudo[@]}" apt-get update -q >&2 &&
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >&2 ||
        die "could not install chromium and chromium-driver"
}

start_deps() {
    # DEPS_CLUSTER=1: the 3+3-node cluster, and the topic replicated on it accordingly
    if [[ "${DEPS_CLUSTER:-0}" =~ ^(1|true|yes)$ ]]; then
        export KAFKA_REPLICATION_FACTOR="${KAFKA_REPLICATION_FACTOR:-3}"
        export KAFKA_MIN_INSYNC_REPLICAS="${KAFKA_MIN_INSYNC_REPLICAS:-2}"
    fi
    PYTHON="$PY" ./start-deps.sh up
    eval "$(PYTHON="$PY" ./start-deps.sh env)"
    export DATABASE_URL KAFKA_URL
}

# ------------------------------------------------------------------------------ test

cmd_test() {
    ensure_venv
    ensure_chromium
    start_deps
    local failed=()
    say "ruff check ."
    "$VENV/bin/ruff" check . || failed+=(ruff)
    say "mypy"
    "$VENV/bin/mypy" || failed+=(mypy)
    say "pytest $*"
    local rc=0
    "$PY" -m pytest "$@" || rc=$?
    case "$rc" in
        0) ;;
        5) say "pytest collected no test: that is a failure"; failed+=(pytest-no-tests) ;;
        *) failed+=("pytest(exit $rc)") ;;
    esac
    if ((${#failed[@]})); then
        say "FAILED: ${failed[*]}"
        exit 1
    fi
    say "all green: ruff, mypy, pytest"
}

# ------------------------------------------------------------------------------ cluster-test

# The cluster tier starts (and stops) a cluster of its own (tests/cluster/conftest.py), so no
# start-deps.sh here; ruff and mypy are the test command's.
cmd_cluster_test() {
    ensure_venv
    say "pytest tests/cluster $*"
    local rc=0
    "$PY" -m pytest tests/cluster "$@" || rc=$?
    case "$rc" in
        0) say "cluster tier green" ;;
        5) say "pytest collected no cluster test: that is a failure"; exit 1 ;;
        *) say "FAILED: cluster tier (pytest exit $rc)"; exit 1 ;;
    esac
}

# ------------------------------------------------------------------------------ run

SERVICES=(workflows_svc scheduler_svc runner_svc)
declare -A PORTS=([workflows_svc]=8081 [scheduler_svc]=8082 [runner_svc]=8083)
CHILDREN=()

stop_children() {
    local pid
    for pid in "${CHILDREN[@]+"${CHILDREN[@]}"}"; do kill -TERM "$pid" 2>/dev/null || true; done
    local deadline=$((SECONDS + 20))
    for pid in "${CHILDREN[@]+"${CHILDREN[@]}"}"; do
        while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
        if kill -0 "$pid" 2>/dev/null; then
            say "pid $pid did not stop within 20 s: KILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    done
    CHILDREN=()
}

print_example() {
    cat <<'EOF'

Try it:
  curl -s -X POST http://127.0.0.1:8081/workflows -H 'content-type: application/json' \
    -d '{"workflowId": "hello", "trigger": {"type": "manual"}, "actions": [{"type": "log", "message": "hello world"}]}'
  curl -s -X POST http://127.0.0.1:8081/workflows/hello/trigger
  curl -s http://127.0.0.1:8081/workflows/hello

Ctrl-C stops the three services; ./start-deps.sh down stops Kafka and MongoDB.
EOF
}

cmd_run() {
    ensure_venv
    start_deps
    local missing=() m
    for m in "${SERVICES[@]}"; do
        "$PY" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('$m.__main__') is None)" ||
            missing+=("$m")
    done
    if ((${#missing[@]})); then
        say "the services are not written yet (no ${missing[*]}/__main__.py):"
        say "only the dependencies were started; they keep running (./start-deps.sh down stops them)"
        exit 0
    fi

    trap 'say "stopping the services"; stop_children; exit 130' INT
    trap 'say "stopping the services"; stop_children; exit 143' TERM
    for m in "${SERVICES[@]}"; do
        PORT="${PORTS[$m]}" "$PY" -m "$m" &
        CHILDREN+=($!)
        say "started $m (pid $!, port ${PORTS[$m]})"
    done

    # wait for the API's /health before printing the example (bounded)
    local deadline=$((SECONDS + 60))
    until "$PY" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8081/health', timeout=2)" 2>/dev/null; do
        if ((SECONDS >= deadline)); then say "workflows_svc not healthy after 60 s"; break; fi
        local pid alive=1
        for pid in "${CHILDREN[@]}"; do kill -0 "$pid" 2>/dev/null || alive=0; done
        ((alive)) || break
        sleep 0.5
    done
    print_example

    # If any service exits, stop the others and exit non-zero.
    local rc=0
    wait -n "${CHILDREN[@]}" || rc=$?
    say "a service exited (status $rc): stopping the others"
    stop_children
    exit $((rc == 0 ? 1 : rc))
}

# ------------------------------------------------------------------------------ images

cmd_images() {
    ensure_venv
    PYTHON="$PY" exec ./deps/images.sh "$@"
}

case "${1:-}" in
    run) shift; cmd_run "$@" ;;
    test) shift; cmd_test "$@" ;;
    images) shift; cmd_images "$@" ;;
    cluster-test) shift; cmd_cluster_test "$@" ;;
    *)
        sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
        exit 2
        ;;
esac

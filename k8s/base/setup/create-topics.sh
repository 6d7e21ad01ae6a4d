#!/usr/bin/env bash
# Creates Flywheel's topics and their dead-letter topics; safe to run again (--if-not-exists).
# Used by the compose one-shot "kafka-init" and the Kubernetes Job "kafka-topics" (apache/kafka image).
# Env: KAFKA_BROKERS (host:port,...), KAFKA_PARTITIONS (default 6), KAFKA_REPLICATION_FACTOR (default 1),
#      TOPIC_PREFIX (default empty; must match the services' TOPIC_PREFIX), KAFKA_COMMAND_CONFIG (optional
#      client properties file for SASL/TLS clusters).
set -euo pipefail
: "${KAFKA_BROKERS:?set KAFKA_BROKERS to the bootstrap servers, e.g. kafka:9092}"
partitions="${KAFKA_PARTITIONS:-6}"
replication="${KAFKA_REPLICATION_FACTOR:-1}"
prefix="${TOPIC_PREFIX:-}"
bin="${KAFKA_BIN:-/opt/kafka/bin}"
extra=()
[[ -n "${KAFKA_COMMAND_CONFIG:-}" ]] && extra=(--command-config "$KAFKA_COMMAND_CONFIG")

# The broker may still be electing its controller; wait up to ~2 minutes.
for i in $(seq 1 60); do
  "$bin/kafka-topics.sh" --bootstrap-server "$KAFKA_BROKERS" "${extra[@]}" --list >/dev/null 2>&1 && break
  [[ "$i" == 60 ]] && { echo "create-topics: Kafka at $KAFKA_BROKERS did not answer in 2 minutes" >&2; exit 1; }
  sleep 2
done

for topic in feedback-events predictions retraining-triggers training-status model-updates drift-reports; do
  for name in "$prefix$topic" "$prefix$topic.dlq"; do
    "$bin/kafka-topics.sh" --bootstrap-server "$KAFKA_BROKERS" "${extra[@]}" --create --if-not-exists \
      --topic "$name" --partitions "$partitions" --replication-factor "$replication"
  done
done
echo "create-topics: ready ($partitions partitions, replication $replication, prefix '${prefix}')"

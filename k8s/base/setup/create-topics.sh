#!/usr/bin/env bash
# Creates Flywheel's topics and their dead-letter topics; safe to run again (--if-not-exists).
# Used by the compose one-shot "kafka-init" and the Kubernetes Job "kafka-topics" (apache/kafka image).
# Env: KAFKA_BROKERS (host:port,...), KAFKA_PARTITIONS (default 6), KAFKA_REPLICATION_FACTOR (default 1),
#      KAFKA_MIN_INSYNC_REPLICAS (default 2 when replication >= 3, else 1; set on new and existing topics, so
#      with the producers' acks=-1 an acknowledged event is on at least that many brokers), TOPIC_PREFIX (default empty; must match the services' TOPIC_PREFIX), KAFKA_COMMAND_CONFIG (optional
#      client properties file for SASL/TLS clusters).
set -euo pipefail
: "${KAFKA_BROKERS:?set KAFKA_BROKERS to the bootstrap servers, e.g. kafka:9092}"
partitions="${KAFKA_PARTITIONS:-6}"
replication="${KAFKA_REPLICATION_FACTOR:-1}"
if [[ "$replication" -ge 3 ]]; then default_isr=2; else default_isr=1; fi
min_isr="${KAFKA_MIN_INSYNC_REPLICAS:-$default_isr}"
if ! [[ "$min_isr" =~ ^[1-9][0-9]*$ ]] || [[ "$min_isr" -gt "$replication" ]]; then
  echo "create-topics: KAFKA_MIN_INSYNC_REPLICAS=$min_isr must be between 1 and KAFKA_REPLICATION_FACTOR=$replication (else no write can be acknowledged)" >&2
  exit 2
fi
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
      --topic "$name" --partitions "$partitions" --replication-factor "$replication" \
      --config "min.insync.replicas=$min_isr"
    # --if-not-exists leaves an existing topic as it was: set the durability setting on it too.
    "$bin/kafka-configs.sh" --bootstrap-server "$KAFKA_BROKERS" "${extra[@]}" --alter \
      --entity-type topics --entity-name "$name" --add-config "min.insync.replicas=$min_isr"
  done
done
echo "create-topics: ready ($partitions partitions, replication $replication, min.insync.replicas $min_isr, prefix '${prefix}')"

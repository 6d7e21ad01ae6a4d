#!/usr/bin/env bash
# Local platform for development and tests: PostgreSQL, Redis, a Kafka-protocol mock cluster (kcat /
# librdkafka) and an S3 server (s3rver via @flywheel/s3-local). Writes .flywheel/platform.env.
#
#   bash scripts/platform.sh up       start what is down (idempotent), write platform.env, print addresses
#   bash scripts/platform.sh down     stop what `up` started (kcat, s3; PostgreSQL/Redis only if `up` started them)
#   bash scripts/platform.sh status   health of each service; exit 1 when something is down
#   bash scripts/platform.sh env      `export KEY=value` lines:  eval "$(bash scripts/platform.sh env)"
#
# Overrides: FLYWHEEL_S3_PORT (default 9000; a free port is used when it is taken),
#            FLYWHEEL_REDIS_PORT (default 6379).
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
if [[ " $* " == *" --help "* || " $* " == *" -h "* ]]; then
  cat <<'USAGE'
usage: bash scripts/platform.sh up|down|status|env
  up      start what is down (idempotent), write .flywheel/platform.env, print addresses
  down    stop what `up` started (kcat, s3; PostgreSQL/Redis only if `up` started them)
  status  health of each service; exit 1 when something is down
  env     `export KEY=value` lines:  eval "$(bash scripts/platform.sh env)"
Overrides: FLYWHEEL_S3_PORT (default 9000), FLYWHEEL_REDIS_PORT (default 6379).
USAGE
  exit 0
fi

ENV_FILE="$FLYWHEEL_DIR/platform.env"
LOCK_FILE="$FLYWHEEL_DIR/platform.lock"

PG_HOST=127.0.0.1 PG_PORT=5432 PG_USER=postgres PG_DB=test
REDIS_HOST=127.0.0.1 REDIS_PORT="${FLYWHEEL_REDIS_PORT:-6379}"

KAFKA_BROKER_COUNT=3
KAFKA_LOG="$LOG_DIR/kafka.log"
KAFKA_PID="$PID_DIR/kafka.pid"
KAFKA_MATCH="test.mock.num.brokers" # kcat rewrites its argv; this survives and identifies our process

S3_PORT="${FLYWHEEL_S3_PORT:-9000}"
S3_BUCKET=flywheel
S3_KEY=S3RVER # s3rver accepts only this fixed key pair
S3_DIR="$FLYWHEEL_DIR/s3"
S3_LOG="$LOG_DIR/s3.log"
S3_PID="$PID_DIR/s3.pid"
S3_ENDPOINT_FILE="$PID_DIR/s3.endpoint"
S3_MAIN="packages/s3-local/dist/main.js"

PG_MARK="$PID_DIR/postgres.started-by-up"
REDIS_MARK="$PID_DIR/redis.started-by-up"

# Per-service outcome for the table: "running" (was healthy), "started", "restarted".
declare -A STATE=()

lock() {
  mkdir -p "$LOG_DIR" "$PID_DIR"
  exec 9>"$LOCK_FILE"
  flock -w 180 9 || die "another 'platform.sh up/down' has held $(rel "$LOCK_FILE") for 3 minutes" \
    "wait for it to finish, or find it with: fuser $(rel "$LOCK_FILE")"
}

# ---------------------------------------------------------------- PostgreSQL
pg_version() { ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1; }
pg_ready() { command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -t 2; }
psql_admin() { psql -X -q -v ON_ERROR_STOP=1 "postgres://$PG_USER@$PG_HOST:$PG_PORT/postgres" "$@"; }

postgres_up() {
  ensure_apt pg_isready postgresql-client
  ensure_apt psql postgresql-client
  if pg_ready; then STATE[postgres]=running
  else
    local fresh=0 ver
    if [[ -z "$(pg_version)" ]]; then ensure_apt pg_ctlcluster postgresql; fresh=1; fi
    ver="$(pg_version)"
    [[ -n "$ver" && -d "/etc/postgresql/$ver/main" ]] || die "no PostgreSQL cluster 'main' under /etc/postgresql" \
      "create one: pg_createcluster <version> main, then re-run"
    if [[ $fresh -eq 1 ]]; then
      # A fresh Debian cluster uses peer/scram auth; the platform contract is passwordless TCP for user postgres.
      sed -ri 's/^(local|host)(\s.*\s)(peer|scram-sha-256|md5)\s*$/\1\2trust/' "/etc/postgresql/$ver/main/pg_hba.conf"
    fi
    info "starting PostgreSQL $ver (it was not accepting connections on $PG_HOST:$PG_PORT)"
    run_logged "$LOG_DIR/postgres.log" "starting PostgreSQL" \
      pg_ctlcluster --skip-systemctl-redirect "$ver" main start 9>&- \
      || die "PostgreSQL $ver did not start" "see /var/log/postgresql/postgresql-$ver-main.log"
    local i; for i in $(seq 1 60); do pg_ready && break; sleep 0.5; done
    pg_ready || die "PostgreSQL started but does not accept connections on $PG_HOST:$PG_PORT" \
      "check 'port' and 'listen_addresses' in /etc/postgresql/$ver/main/postgresql.conf"
    echo "$ver" >"$PG_MARK"
    STATE[postgres]=started
  fi
  local exists
  exists="$(psql_admin -tAc "select 1 from pg_database where datname = '$PG_DB'" 2>&1)" \
    || die "cannot connect to PostgreSQL as '$PG_USER' without a password: $exists" \
      "allow trust auth for 127.0.0.1 in pg_hba.conf (host all all 127.0.0.1/32 trust), reload, re-run"
  if [[ "$exists" != 1 ]]; then
    psql_admin -c "create database \"$PG_DB\"" >/dev/null || die "could not create database '$PG_DB'" "create it by hand: createdb -h $PG_HOST -U $PG_USER $PG_DB"
    info "created database $PG_DB"
  fi
}

postgres_down() {
  [[ -f "$PG_MARK" ]] || return 0
  local ver; ver="$(<"$PG_MARK")"
  pg_ctlcluster --skip-systemctl-redirect "$ver" main stop 9>&- >/dev/null 2>&1 || true
  rm -f "$PG_MARK"
  info "stopped PostgreSQL $ver (platform.sh up had started it)"
}

# ---------------------------------------------------------------- Redis
redis_ready() { [[ "$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]; }

redis_up() {
  ensure_apt redis-cli redis-tools
  if redis_ready; then STATE[redis]=running; return 0; fi
  ensure_apt redis-server redis-server
  info "starting Redis (nothing answered on $REDIS_HOST:$REDIS_PORT)"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log 9>&- >/dev/null \
    || die "redis-server did not start" "see /var/log/redis/ci.log"
  local i; for i in $(seq 1 40); do redis_ready && break; sleep 0.25; done
  redis_ready || die "Redis started but does not answer PING on $REDIS_HOST:$REDIS_PORT" "see /var/log/redis/ci.log"
  touch "$REDIS_MARK"
  STATE[redis]=started
}

redis_down() {
  [[ -f "$REDIS_MARK" ]] || return 0
  redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  rm -f "$REDIS_MARK"
  info "stopped Redis (platform.sh up had started it)"
}

# ---------------------------------------------------------------- Kafka (librdkafka mock cluster in kcat)
# kcat prints "Mock cluster enabled: ... replaced with 127.0.0.1:p1,127.0.0.1:p2,..." (log level 5) at start.
kafka_brokers() { [[ -f "$KAFKA_LOG" ]] && sed -n 's/.*replaced with \([0-9.:,]*\).*/\1/p' "$KAFKA_LOG" | head -n 1; }

# kafka_metadata_ok BROKERS: a metadata request answers and lists every mock broker.
kafka_metadata_ok() {
  local out
  out="$(timeout 15 kcat -b "$1" -L -m 5 2>&1)" || return 1
  grep -qE "^ *$KAFKA_BROKER_COUNT brokers:" <<<"$out"
}

kafka_healthy() {
  local brokers
  pid_alive "$KAFKA_PID" "$KAFKA_MATCH" || return 1
  brokers="$(kafka_brokers)"
  [[ -n "$brokers" ]] && kafka_metadata_ok "$brokers"
}

kafka_start() {
  [[ -s "$KAFKA_LOG" ]] && mv -f "$KAFKA_LOG" "$KAFKA_LOG.prev"
  # The consumer on _keepalive only keeps kcat (and so the mock cluster) running; setsid detaches it
  # from this shell so it outlives the caller. 9>&- keeps it from holding our lock.
  setsid kcat -b x:1 -X "test.mock.num.brokers=$KAFKA_BROKER_COUNT" -C -t _keepalive -o end -u \
    </dev/null >>"$KAFKA_LOG" 2>&1 9>&- &
  echo $! >"$KAFKA_PID"
  local i brokers=""
  for i in $(seq 1 50); do
    brokers="$(kafka_brokers)"; [[ -n "$brokers" ]] && break
    # Only "still running" here: until the fork has exec'd, its command line is still this shell's,
    # so the pattern check of pid_alive would read a starting process as dead.
    kill -0 "$(<"$KAFKA_PID")" 2>/dev/null || break
    sleep 0.2
  done
  if [[ -z "$brokers" ]]; then
    tail -n 15 "$KAFKA_LOG" | sed 's/^/  | /' >&2
    stop_pid "$KAFKA_PID" "$KAFKA_MATCH" "kafka mock" >/dev/null
    die "the kcat mock cluster printed no bootstrap.servers (log: $(rel "$KAFKA_LOG"))" \
      "check that 'kcat -V' shows librdkafka >= 1.9 (mock cluster support)"
  fi
  kafka_metadata_ok "$brokers" || die "mock brokers $brokers do not answer a metadata request (kcat -L)" \
    "see $(rel "$KAFKA_LOG"); run 'bash scripts/platform.sh down' then 'up'"
}

kafka_up() {
  ensure_apt kcat kcat
  if kafka_healthy; then STATE[kafka]=running; return 0; fi
  if [[ -s "$KAFKA_PID" ]]; then
    warn "the Kafka mock cluster (pid $(<"$KAFKA_PID")) is dead or not answering: restarting it." \
      "It keeps everything in memory, so all topics, messages and consumer-group offsets are gone," \
      "and the broker ports change: re-read .flywheel/platform.env and restart running services."
    stop_pid "$KAFKA_PID" "$KAFKA_MATCH" "kafka mock" >/dev/null
    STATE[kafka]=restarted
  else
    STATE[kafka]=started
  fi
  kafka_start
}

# ---------------------------------------------------------------- S3 (s3rver)
s3_endpoint() { [[ -s "$S3_ENDPOINT_FILE" ]] && head -n 1 "$S3_ENDPOINT_FILE"; }

# Anonymous requests are allowed by s3rver: a 200 for a zero-key listing proves server and bucket.
s3_healthy() {
  local endpoint
  pid_alive "$S3_PID" "$S3_MAIN" || return 1
  endpoint="$(s3_endpoint)" || return 1
  curl -sf -m 5 -o /dev/null "$endpoint/$S3_BUCKET?list-type=2&max-keys=0"
}

s3_start() {
  if [[ ! -f "$ROOT/$S3_MAIN" ]]; then
    [[ -d "$ROOT/packages/s3-local/node_modules/s3rver" ]] || die "dependencies are not installed (packages/s3-local has no s3rver)" \
      "run: bash scripts/setup.sh"
    run_logged "$LOG_DIR/s3-build.log" "building @flywheel/s3-local" pnpm --dir "$ROOT" --filter @flywheel/s3-local run build \
      || die "could not build @flywheel/s3-local" "run: bash scripts/setup.sh"
  fi
  rm -f "$S3_ENDPOINT_FILE"
  mkdir -p "$S3_DIR"
  # Relative paths keep /proc/PID/cmdline matchable by pid_alive; cd to the root so they resolve.
  (cd "$ROOT" && exec setsid node "$S3_MAIN" --address 127.0.0.1 --port "$S3_PORT" --fallback-port \
    --directory "$(rel "$S3_DIR")" --bucket "$S3_BUCKET" --ready-file "$(rel "$S3_ENDPOINT_FILE")" \
    </dev/null >>"$S3_LOG" 2>&1 9>&-) &
  echo $! >"$S3_PID"
  local i
  for i in $(seq 1 300); do
    [[ -s "$S3_ENDPOINT_FILE" ]] && break
    # Only "still running": before the subshell's exec its command line is bash's, and reading that
    # as dead made a slow start (a loaded machine) fail and be killed with an empty log.
    kill -0 "$(<"$S3_PID")" 2>/dev/null || break
    sleep 0.2
  done
  if ! s3_healthy; then
    tail -n 15 "$S3_LOG" | sed 's/^/  | /' >&2
    stop_pid "$S3_PID" "$S3_MAIN" "s3" >/dev/null
    die "the S3 server did not come up (log: $(rel "$S3_LOG"))" "fix the error above, then re-run"
  fi
  local endpoint; endpoint="$(s3_endpoint)"
  [[ "$endpoint" == *":$S3_PORT" ]] || warn "port $S3_PORT was taken; S3 listens on $endpoint instead"
}

s3_up() {
  ensure_apt curl curl
  if s3_healthy; then STATE[s3]=running; return 0; fi
  if [[ -s "$S3_PID" ]]; then
    warn "the S3 server is dead, not answering or lost bucket '$S3_BUCKET': restarting it (objects persist in $(rel "$S3_DIR"))"
    stop_pid "$S3_PID" "$S3_MAIN" "s3" >/dev/null
    STATE[s3]=restarted
  else
    STATE[s3]=started
  fi
  s3_start
}

# ---------------------------------------------------------------- env file and table
render_env() {
  cat <<EOF
KAFKA_BROKERS=$(kafka_brokers)
POSTGRES_URL=postgres://$PG_USER@$PG_HOST:$PG_PORT/$PG_DB
REDIS_URL=redis://$REDIS_HOST:$REDIS_PORT
S3_ENDPOINT=$(s3_endpoint)
S3_ACCESS_KEY=$S3_KEY
S3_SECRET_KEY=$S3_KEY
S3_BUCKET=$S3_BUCKET
EOF
}

write_env() {
  local tmp="$ENV_FILE.tmp.$$"
  render_env >"$tmp"
  if [[ -f "$ENV_FILE" ]] && cmp -s "$tmp" "$ENV_FILE"; then rm -f "$tmp"; else mv -f "$tmp" "$ENV_FILE"; fi
}

env_get() { sed -n "s/^$1=//p" "$ENV_FILE"; }

print_table() {
  local pids; pids="kafka pid $(<"$KAFKA_PID"), s3 pid $(<"$S3_PID")"
  printf '%-9s %-10s %s\n' SERVICE STATE ADDRESS
  printf '%-9s %-10s %s\n' kafka "${STATE[kafka]}" "$(env_get KAFKA_BROKERS)  (kcat mock, $KAFKA_BROKER_COUNT brokers, in-memory)"
  printf '%-9s %-10s %s\n' postgres "${STATE[postgres]}" "$(env_get POSTGRES_URL)"
  printf '%-9s %-10s %s\n' redis "${STATE[redis]}" "$(env_get REDIS_URL)"
  printf '%-9s %-10s %s\n' s3 "${STATE[s3]}" "$(env_get S3_ENDPOINT)  (bucket $S3_BUCKET, data $(rel "$S3_DIR"))"
  printf 'env: %s   (%s)\n' "$(rel "$ENV_FILE")" "$pids"
}

# ---------------------------------------------------------------- commands
cmd_up() {
  lock
  postgres_up
  redis_up
  kafka_up
  s3_up
  write_env
  print_table
}

cmd_down() {
  lock
  stop_pid "$KAFKA_PID" "$KAFKA_MATCH" "kafka mock"
  stop_pid "$S3_PID" "$S3_MAIN" "s3"
  rm -f "$S3_ENDPOINT_FILE"
  postgres_down
  redis_down
  rm -f "$ENV_FILE"
  info "platform down (PostgreSQL/Redis left running unless 'up' had started them; S3 data kept in $(rel "$S3_DIR"))"
}

cmd_status() {
  local bad=0 s
  printf '%-9s %s\n' SERVICE STATE
  if kafka_healthy; then s="up  $(kafka_brokers)"; else s=down; bad=1; fi; printf '%-9s %s\n' kafka "$s"
  if pg_ready; then s="up  $PG_HOST:$PG_PORT"; else s=down; bad=1; fi; printf '%-9s %s\n' postgres "$s"
  if redis_ready; then s="up  $REDIS_HOST:$REDIS_PORT"; else s=down; bad=1; fi; printf '%-9s %s\n' redis "$s"
  if s3_healthy; then s="up  $(s3_endpoint)"; else s=down; bad=1; fi; printf '%-9s %s\n' s3 "$s"
  [[ $bad -eq 0 ]] || info "something is down: run 'bash scripts/platform.sh up'"
  return "$bad"
}

cmd_env() {
  [[ -f "$ENV_FILE" ]] || die "$(rel "$ENV_FILE") does not exist" "run: bash scripts/platform.sh up"
  local key value
  while IFS='=' read -r key value; do
    [[ -n "$key" ]] || continue
    # Plain values as written; anything a shell would reinterpret gets %q-quoted.
    if [[ "$value" =~ ^[A-Za-z0-9_./:@,=+-]*$ ]]; then printf 'export %s=%s\n' "$key" "$value"
    else printf 'export %s=%q\n' "$key" "$value"; fi
  done <"$ENV_FILE"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) cmd_env ;;
  *) die "usage: bash scripts/platform.sh up|down|status|env" "pick one of the commands above" ;;
esac

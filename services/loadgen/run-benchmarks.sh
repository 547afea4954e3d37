#!/usr/bin/env bash
# Runs every benchmark of BENCHMARKS.md on this machine, each beside its reference measured
# in the same run: pgbench (TPC-B) for what PostgreSQL itself does here.
#
#   bash services/loadgen/run-benchmarks.sh            # everything
#   CLIENTS=16 SECONDS_PER_RUN=20 LOANS=1000000 bash services/loadgen/run-benchmarks.sh
#
# Needs PostgreSQL on 127.0.0.1:5432 with trust auth for user postgres (as CI has it).
set -euo pipefail
cd "$(dirname "$0")/../.."

CLIENTS="${CLIENTS:-16}"
SECONDS_PER_RUN="${SECONDS_PER_RUN:-15}"
LOANS="${LOANS:-1000000}"
# Which parts to run: any of pgbench, apps (submit/enroll/contributions), position (with the
# tape reconciliation), scaling (replicas, PgBouncer, a hot standby), bench (cargo bench).
SECTIONS="${SECTIONS:-pgbench apps position scaling bench}"
want() { case " $SECTIONS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
PG="postgres://postgres@127.0.0.1:5432"
if command -v mold >/dev/null 2>&1; then export RUSTFLAGS="${RUSTFLAGS:-} -C link-arg=-fuse-ld=mold"; fi
[ -n "${SKIP_BUILD:-}" ] || cargo build --release -p server -p loadgen -p cli >/dev/null
TARGET="${CARGO_TARGET_DIR:-target}/release"
SERVER="$TARGET/techcredit-server"
LOADGEN="$TARGET/techcredit-loadgen"
WORK="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

echo "# machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; $(psql --version)"
echo "# clients=$CLIENTS seconds=$SECONDS_PER_RUN"

fresh_db() { psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1" >/dev/null; }

start_server() { # data_dir [database_url]
  local dir="$1"; mkdir -p "$dir"
  if [ -n "${2:-}" ]; then export DATABASE_URL="$2"; else unset DATABASE_URL; fi
  RUST_LOG=warn "$SERVER" --listen 127.0.0.1:50061 --dashboard-listen 127.0.0.1:50063 --data-dir "$dir" >"$dir/stdout" 2>"$dir/stderr" &
  SERVER_PID=$!
  for _ in $(seq 1 100); do grep -q "listening on" "$dir/stdout" 2>/dev/null && break; sleep 0.1; done
  unset DATABASE_URL
}
stop_server() { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; }
loadgen() { "$LOADGEN" run --address http://127.0.0.1:50061 --admin-key "@$1/bootstrap-admin.key" "${@:2}"; }

if want pgbench; then
echo "## reference: pgbench TPC-B, scale 10, $CLIENTS clients"
fresh_db techcredit_pgbench
pgbench -i -q -s 10 "$PG/techcredit_pgbench" >/dev/null 2>&1
pgbench -c "$CLIENTS" -j 2 -T "$SECONDS_PER_RUN" "$PG/techcredit_pgbench" 2>/dev/null | grep -E "^(tps|latency average)"
# The same, paced at the rate SubmitApplication is paced at: the tail PostgreSQL itself
# shows here for one small write transaction per call, beside the services' paced tails.
echo "## reference: pgbench TPC-B paced at 500 tps, $CLIENTS clients (per-transaction latency)"
( cd "$WORK" && pgbench -c "$CLIENTS" -j 2 -T "$SECONDS_PER_RUN" -R 500 -l --log-prefix=paced "$PG/techcredit_pgbench" >/dev/null 2>&1 )
cat "$WORK"/paced.* | awk '{print $3}' | sort -n | awk '{v[NR]=$1} END {
  printf "transactions=%d p50=%.2fms p99=%.2fms max=%.2fms\n", NR, v[int(NR*0.50)]/1000, v[int(NR*0.99)]/1000, v[NR]/1000 }'
fi

want apps && for engine in postgres sqlite; do
  echo "## $engine"
  for scenario in submit enroll contributions; do
    dir="$WORK/$engine-$scenario"
    if [ "$engine" = postgres ]; then fresh_db techcredit_bench; start_server "$dir" "$PG/techcredit_bench"; else start_server "$dir"; fi
    case "$scenario" in
      submit)
        loadgen "$dir" --scenario submit --clients "$CLIENTS" --seconds "$SECONDS_PER_RUN" --rate 500
        loadgen "$dir" --scenario submit --clients "$CLIENTS" --seconds "$SECONDS_PER_RUN" ;;
      enroll) loadgen "$dir" --scenario enroll --clients "$CLIENTS" --loans 3000 ;;
      contributions) loadgen "$dir" --scenario contributions --clients "$CLIENTS" --seconds "$SECONDS_PER_RUN" ;;
    esac
    stop_server
  done
done

want position && echo "## GetPoolPosition against a book of 1,000 and of $LOANS covered loans (PostgreSQL)"
want position && for size in 1000 "$LOANS"; do
  fresh_db techcredit_position
  "$LOADGEN" seed --database-url "$PG/techcredit_position" --loans "$size"
  dir="$WORK/position-$size"
  start_server "$dir" "$PG/techcredit_position"
  loadgen "$dir" --scenario position --clients "$CLIENTS" --seconds "$SECONDS_PER_RUN" --rate 1000
  loadgen "$dir" --scenario position --clients "$CLIENTS" --seconds "$SECONDS_PER_RUN"
  # One caller at a time: a position call, the 24 months of history (the first call keeps
  # the month-end snapshots), and the dashboard's overview page (server time, via curl).
  loadgen "$dir" --scenario history --clients 1 --seconds 2 >/dev/null
  loadgen "$dir" --scenario position --clients 1 --seconds "$SECONDS_PER_RUN"
  loadgen "$dir" --scenario history --clients 1 --seconds "$SECONDS_PER_RUN"
  key=$(cat "$dir/bootstrap-admin.key")
  curl -s -c "$WORK/jar" -o /dev/null -d "key=$key" http://127.0.0.1:50063/login
  for _ in $(seq 1 200); do curl -s -b "$WORK/jar" -o /dev/null -w "%{time_total}\n" http://127.0.0.1:50063/; done |
    sort -n | awk '{v[NR]=$1} END { printf "dashboard overview page: n=%d p50=%.2fms p99=%.2fms\n", NR, v[int(NR*0.5)]*1000, v[int(NR*0.99)]*1000 }'
  if [ "$size" = "$LOANS" ]; then
    echo "## reconciliation of a $LOANS-row tape against $LOANS covered loans (PostgreSQL)"
    "$LOADGEN" tape --loans "$LOANS" --out "$WORK/tape.csv"
    echo "tape: $(wc -l < "$WORK/tape.csv") lines, $(du -h "$WORK/tape.csv" | cut -f1)"
    echo "### reference: psql \\copy + one full outer join"
    sed "s|TAPE_FILE|$WORK/tape.csv|" services/loadgen/tape-reference.sql > "$WORK/reference.sql"
    /usr/bin/time -f "reference wall=%es" psql -q -v bank=seed-bank -f "$WORK/reference.sql" "$PG/techcredit_position" 2>&1
    echo "### techcredit reconcile (CLI start to report written)"
    key=$("$LOADGEN" batch-key --address http://127.0.0.1:50061 --admin-key "@$dir/bootstrap-admin.key")
    /usr/bin/time -f "cli wall=%es cli_max_rss=%MKiB" "$TARGET/techcredit" --address http://127.0.0.1:50061 --key "$key" \
      reconcile --bank seed-bank --as-of "$(date +%F)" --quiet --report "$WORK/report.csv" "$WORK/tape.csv" \
      || [ $? -eq 4 ] # exit 4: discrepancies found (the tape has 60 planted)
    echo "server_max_rss=$(grep VmHWM /proc/$SERVER_PID/status | awk '{print $2}')KiB"
  fi
  stop_server
done

if want scaling; then
# Server processes on ports 50061, 50071, …: start_replicas N DATABASE_URL [ENV=VALUE…]
# (the first migrates, the others start with --no-migrate); REPLICAS holds their addresses.
start_replicas() {
  local n="$1" url="$2"; shift 2
  REPLICA_PIDS=(); REPLICAS=""
  for i in $(seq 1 "$n"); do
    local dir="$WORK/replica-$i" port=$((50051 + 10 * i))
    mkdir -p "$dir"
    local migrate=(); [ "$i" = 1 ] || migrate=(--no-migrate)
    env DATABASE_URL="$url" RUST_LOG=warn "$@" "$SERVER" --listen "127.0.0.1:$port" --data-dir "$dir" "${migrate[@]}" \
      >"$dir/stdout" 2>"$dir/stderr" &
    REPLICA_PIDS+=($!)
    for _ in $(seq 1 100); do grep -q "listening on" "$dir/stdout" 2>/dev/null && break; sleep 0.1; done
    REPLICAS="${REPLICAS:+$REPLICAS,}http://127.0.0.1:$port"
  done
}
stop_replicas() { kill "${REPLICA_PIDS[@]}"; wait "${REPLICA_PIDS[@]}" 2>/dev/null || true; }
replicas_loadgen() { "$LOADGEN" run --address "$REPLICAS" --admin-key "@$WORK/replica-1/bootstrap-admin.key" "$@"; }
# The most connections the database `$1` had open while `$2…` ran (sampled every 0.2 s).
peak_connections() {
  local db="$1"; shift
  ( peak=0; while :; do
      c=$(psql "$PG/postgres" -Atc "SELECT count(*) FROM pg_stat_activity WHERE datname = '$db'")
      [ "$c" -gt "$peak" ] && peak=$c && echo "$peak" >"$WORK/peak"
      sleep 0.2
    done ) & local sampler=$!
  echo 0 >"$WORK/peak"
  "$@"
  kill "$sampler"; wait "$sampler" 2>/dev/null || true
  echo "database connections at most: $(cat "$WORK/peak")"
}
echo "## one PostgreSQL, one replica vs two (each call to either; $CLIENTS clients)"
for n in 1 2; do
  echo "### $n replica(s)"
  fresh_db techcredit_scale; start_replicas "$n" "$PG/techcredit_scale"
  peak_connections techcredit_scale replicas_loadgen --scenario submit --clients "$CLIENTS" --seconds "$SECONDS_PER_RUN"
  stop_replicas
  fresh_db techcredit_scale; start_replicas "$n" "$PG/techcredit_scale"
  replicas_loadgen --scenario enroll --clients "$CLIENTS" --loans 3000
  stop_replicas
done
eval "$(bash tests/scale-out.sh)"
echo "### 2 replicas through PgBouncer (transaction pooling, 8 server connections)"
fresh_db techcredit_scale
DATABASE_URL="$PG/techcredit_scale" "$SERVER" migrate >/dev/null 2>&1
start_replicas 2 "postgres://postgres@$TEST_DATABASE_POOLER/techcredit_scale" TECHCREDIT__DATABASE_TRANSACTION_POOLING=true
peak_connections techcredit_scale replicas_loadgen --scenario submit --clients "$CLIENTS" --seconds "$SECONDS_PER_RUN"
stop_replicas
fresh_db techcredit_scale
DATABASE_URL="$PG/techcredit_scale" "$SERVER" migrate >/dev/null 2>&1
start_replicas 2 "postgres://postgres@$TEST_DATABASE_POOLER/techcredit_scale" TECHCREDIT__DATABASE_TRANSACTION_POOLING=true
replicas_loadgen --scenario enroll --clients "$CLIENTS" --loans 3000
stop_replicas
echo "## reads with and without a hot standby (primary 5433, standby 5434; 10,000 covered loans)"
psql "$TEST_PRIMARY_URL" -qc "CREATE DATABASE techcredit_reads" >/dev/null
PRIMARY="${TEST_PRIMARY_URL%/*}/techcredit_reads"; STANDBY="${TEST_STANDBY_URL%/*}/techcredit_reads"
"$LOADGEN" seed --database-url "$PRIMARY" --loans 10000
for _ in $(seq 1 100); do psql "$STANDBY" -Atc "SELECT 1" >/dev/null 2>&1 && break; sleep 0.1; done
for read_url in "" "$STANDBY"; do
  if [ -n "$read_url" ]; then echo "### reads on the standby"; else echo "### reads on the primary"; fi
  start_replicas 1 "$PRIMARY" ${read_url:+TECHCREDIT__DATABASE_READ_URL=$read_url}
  replicas_loadgen --scenario position --clients "$CLIENTS" --seconds "$SECONDS_PER_RUN"
  replicas_loadgen --scenario lists --clients "$CLIENTS" --seconds "$SECONDS_PER_RUN"
  stop_replicas
done
bash tests/scale-out.sh stop
fi

if want bench; then
  echo "## underwriting decision in process (cargo bench -p domain)"
  cargo bench -q -p domain 2>/dev/null | grep underwrite
fi

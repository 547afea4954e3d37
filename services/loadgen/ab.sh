#!/usr/bin/env bash
# Before and after in one run: builds the release server and load generator of BASE (a git
# revision) and of the working tree, then runs each scenario on PostgreSQL alternately,
# A B A B …, each run on a fresh database and server, beside pgbench measured in the same
# run. For a change that may cost throughput (the audit trail, say).
#
#   bash services/loadgen/ab.sh BASE [ROUNDS]        # e.g. bash services/loadgen/ab.sh bb1accd 3
#   SCENARIOS="enroll submit" CLIENTS=16 SECONDS_PER_RUN=10 bash services/loadgen/ab.sh BASE
#   B_ENV="OTEL_EXPORTER_OTLP_METRICS_ENDPOINT=http://127.0.0.1:9" bash services/loadgen/ab.sh same
#
# BASE `same`: both sides run the working tree's build, B with B_ENV added to its server's
# environment (A_ENV for A's): what a setting costs.
#
# Needs PostgreSQL on 127.0.0.1:5432 with trust auth for user postgres (as CI has it).
set -euo pipefail
cd "$(dirname "$0")/../.."
BASE="${1:?usage: ab.sh BASE [ROUNDS]}"
ROUNDS="${2:-3}"
CLIENTS="${CLIENTS:-16}"
SECONDS_PER_RUN="${SECONDS_PER_RUN:-10}"
SCENARIOS="${SCENARIOS:-enroll submit}"
PG="postgres://postgres@127.0.0.1:5432"
if command -v mold >/dev/null 2>&1; then export RUSTFLAGS="${RUSTFLAGS:-} -C link-arg=-fuse-ld=mold"; fi
WORK="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; git worktree remove --force "$WORK/base-src" 2>/dev/null || true; rm -rf "$WORK"' EXIT

build() { # source_dir target_dir out_dir
  (cd "$1" && CARGO_TARGET_DIR="$2" cargo build -q --release -p server -p loadgen)
  mkdir -p "$3"
  cp "$2/release/techcredit-server" "$2/release/techcredit-loadgen" "$3/"
}
build "$PWD" "${CARGO_TARGET_DIR:-$PWD/target}" "$WORK/B"
if [ "$BASE" = same ]; then
  cp -r "$WORK/B" "$WORK/A"
  echo "# A and B = working tree at $(git rev-parse --short HEAD)$(git diff --quiet || echo ' + changes'); A_ENV=${A_ENV:-} B_ENV=${B_ENV:-}"
else
  git worktree add -q --detach "$WORK/base-src" "$BASE"
  # The base builds in a target directory of its own (kept between runs): sharing one with
  # the working tree would let a build script's output of one side stand for the other's.
  build "$WORK/base-src" "${AB_BASE_TARGET_DIR:-$PWD/target/ab-base}" "$WORK/A"
  echo "# A = $(git rev-parse --short "$BASE"), B = working tree at $(git rev-parse --short HEAD)$(git diff --quiet || echo ' + changes')"
fi
echo "# machine: $(nproc) cores; $(psql --version); clients=$CLIENTS seconds=$SECONDS_PER_RUN"

fresh_db() { psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" >/dev/null; }
echo "## reference: pgbench TPC-B, scale 10, $CLIENTS clients"
fresh_db techcredit_pgbench
pgbench -i -q -s 10 "$PG/techcredit_pgbench" >/dev/null 2>&1
pgbench -c "$CLIENTS" -j 2 -T "$SECONDS_PER_RUN" "$PG/techcredit_pgbench" 2>/dev/null | grep -E "^tps"

run() { # side scenario
  local dir="$WORK/run-$1-$2-$RANDOM"; mkdir -p "$dir"
  fresh_db techcredit_ab
  local side_env="${1}_ENV"
  # shellcheck disable=SC2086 # A_ENV / B_ENV are lists of NAME=value words.
  env ${!side_env:-} DATABASE_URL="$PG/techcredit_ab" RUST_LOG=warn "$WORK/$1/techcredit-server" --listen 127.0.0.1:50071 --data-dir "$dir" >"$dir/stdout" 2>"$dir/stderr" &
  local pid=$!
  for _ in $(seq 1 100); do grep -q "listening on" "$dir/stdout" 2>/dev/null && break; sleep 0.1; done
  local args=(--scenario "$2" --clients "$CLIENTS")
  case "$2" in enroll) args+=(--loans 3000) ;; *) args+=(--seconds "$SECONDS_PER_RUN") ;; esac
  "$WORK/$1/techcredit-loadgen" run --address http://127.0.0.1:50071 --admin-key "@$dir/bootstrap-admin.key" "${args[@]}" |
    grep -E "^scenario=" | sed "s/^/$1 /"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}
for scenario in $SCENARIOS; do
  echo "## $scenario"
  for _ in $(seq 1 "$ROUNDS"); do run A "$scenario"; run B "$scenario"; done
done

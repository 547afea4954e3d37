#!/usr/bin/env bash
# Starts the scale-out peers the tests use, from Debian's packages, on loopback ports:
#   * a PostgreSQL primary (127.0.0.1:5433) and its hot standby (127.0.0.1:5434), made by
#     pg_basebackup and fed by streaming replication: `TEST_PRIMARY_URL`, `TEST_STANDBY_URL`;
#   * PgBouncer in transaction-pooling mode (127.0.0.1:6432) in front of the PostgreSQL on
#     127.0.0.1:5432 (every database, made on demand): `TEST_DATABASE_POOLER`.
# Prints the `export` lines for those variables. `tests/scale-out.sh stop` stops them all.
# Everything lives under $SCALE_OUT_DIR (default /tmp/techcredit-scale-out), owned by the
# postgres user (neither server runs as root).
set -euo pipefail

dir="${SCALE_OUT_DIR:-/tmp/techcredit-scale-out}"
bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

stop() {
  for cluster in standby primary; do
    if [ -f "$dir/$cluster/postmaster.pid" ]; then
      as_postgres "$bin/pg_ctl" -D "$dir/$cluster" -m immediate stop >/dev/null 2>&1 || true
    fi
  done
  if [ -f "$dir/pgbouncer.pid" ]; then
    kill "$(cat "$dir/pgbouncer.pid")" 2>/dev/null || true
    for _ in $(seq 1 20); do [ -f "$dir/pgbouncer.pid" ] || break; sleep 0.1; done
  fi
}

if [ "${1:-start}" = stop ]; then
  stop
  exit 0
fi

command -v pgbouncer >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq pgbouncer) >/dev/null
stop
rm -rf "$dir"
mkdir -p "$dir"
chown postgres: "$dir" 2>/dev/null || true

# The primary: replication from loopback allowed, WAL kept for one standby.
as_postgres "$bin/initdb" -D "$dir/primary" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
cat >>"$dir/primary/postgresql.conf" <<EOF
port = 5433
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
wal_level = replica
max_wal_senders = 4
hot_standby = on
fsync = off
EOF
echo "host replication all 127.0.0.1/32 trust" >>"$dir/primary/pg_hba.conf"
as_postgres "$bin/pg_ctl" -D "$dir/primary" -l "$dir/primary.log" -w start >/dev/null

# The standby: a base backup of the primary, started as a streaming hot standby (-R writes
# primary_conninfo and standby.signal).
as_postgres "$bin/pg_basebackup" -h 127.0.0.1 -p 5433 -U postgres -D "$dir/standby" -R -X stream >/dev/null
sed -i 's/^port = 5433/port = 5434/' "$dir/standby/postgresql.conf"
as_postgres "$bin/pg_ctl" -D "$dir/standby" -l "$dir/standby.log" -w start >/dev/null
for _ in $(seq 1 50); do
  [ "$(psql -h 127.0.0.1 -p 5434 -U postgres -Atc 'SELECT pg_is_in_recovery()' postgres 2>/dev/null)" = t ] && break
  sleep 0.2
done
[ "$(psql -h 127.0.0.1 -p 5433 -U postgres -Atc 'SELECT count(*) FROM pg_stat_replication' postgres)" = 1 ]

# PgBouncer, transaction pooling. The driver names the statements it prepares, so each
# server connection is reset when it goes back to the pool.
cat >"$dir/userlist.txt" <<'EOF'
"postgres" ""
"root" ""
EOF
cat >"$dir/pgbouncer.ini" <<EOF
[databases]
* = host=127.0.0.1 port=5432

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = 6432
unix_socket_dir =
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = transaction
server_reset_query = DEALLOCATE ALL
server_reset_query_always = 1
ignore_startup_parameters = extra_float_digits
max_client_conn = 1000
default_pool_size = 8
max_db_connections = 8
server_idle_timeout = 5
server_login_retry = 1
query_wait_timeout = 10
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
EOF
chown postgres: "$dir/pgbouncer.ini" "$dir/userlist.txt" 2>/dev/null || true
as_postgres pgbouncer -d "$dir/pgbouncer.ini"
for _ in $(seq 1 50); do
  psql -h 127.0.0.1 -p 6432 -U postgres -Atc 'SELECT 1' postgres >/dev/null 2>&1 && break
  sleep 0.2
done
psql -h 127.0.0.1 -p 6432 -U postgres -Atc 'SELECT 1' postgres >/dev/null

echo "export TEST_PRIMARY_URL=postgres://postgres@127.0.0.1:5433/postgres"
echo "export TEST_STANDBY_URL=postgres://postgres@127.0.0.1:5434/postgres"
echo "export TEST_DATABASE_POOLER=127.0.0.1:6432"

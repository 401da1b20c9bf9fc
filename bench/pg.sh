#!/usr/bin/env bash
# Starts the machine's PostgreSQL 15 and (re)creates the benchmark database medreg_bench owned
# (or the one named as $1) by the role medreg (as .ci/run does for the tests). Prints the SQLAlchemy URL.
set -euo pipefail
PG_VERSION=15
DB=${1:-medreg_bench}  # the database to (re)create; deploy/wheel-check.sh passes its own
as_postgres() { runuser -u postgres -- "$@"; }
pg_lsclusters -h | grep -qE "^${PG_VERSION}[[:space:]]+main[[:space:]].*online" || pg_ctlcluster "${PG_VERSION}" main start
for _ in $(seq 1 30); do as_postgres pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
as_postgres psql -q -v ON_ERROR_STOP=1 -d postgres -c "DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'medreg') THEN CREATE ROLE medreg LOGIN PASSWORD 'medreg'; END IF;
END \$\$" </dev/null >&2
as_postgres psql -q -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS ${DB} WITH (FORCE)" </dev/null >&2
as_postgres psql -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE ${DB} OWNER medreg ENCODING 'UTF8' TEMPLATE template0" </dev/null >&2
echo "postgresql+psycopg://medreg:medreg@127.0.0.1:5432/${DB}"

#!/usr/bin/env bash
# Start the local PostgreSQL 15 cluster and create the registry role and databases.
# Usage: scripts/pg-setup.sh [DBNAME ...]   (default: registry registry_test registry_restore)
set -euo pipefail
if ! command -v pg_ctlcluster >/dev/null; then
  echo "PostgreSQL is not installed (apt-get install postgresql-15)" >&2; exit 1
fi
pg_ctlcluster --skip-systemctl-redirect 15 main start 2>/dev/null || true
for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 && break; sleep 0.5; done
as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -c "$1"; else sh -c "$1"; fi; }
as_pg "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname='registry'\"" | grep -q 1 \
  || as_pg "psql -qc \"CREATE ROLE registry LOGIN PASSWORD 'registry' CREATEDB\""
dbs=("$@"); [ ${#dbs[@]} -gt 0 ] || dbs=(registry registry_test registry_restore)
for db in "${dbs[@]}"; do
  as_pg "psql -qtAc \"SELECT 1 FROM pg_database WHERE datname='$db'\"" | grep -q 1 \
    || as_pg "createdb -O registry '$db'"
done
echo "PostgreSQL ready: postgresql+psycopg://registry:registry@127.0.0.1:5432/{${dbs[*]}}"

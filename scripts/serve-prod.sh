#!/usr/bin/env bash
# Production serving: migrate, then gunicorn (several workers), exactly ONE scheduler process and one task worker.
# Both stop when this script stops (Ctrl+C, SIGTERM, or either process exiting).
# Needs REGISTRY_DATABASE_URL (PostgreSQL), REGISTRY_SECRET_KEY and REGISTRY_PUBLIC_BASE_URL (http(s)://host). See README "生产部署 / Production deployment".
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
FLASK=("$VENV/bin/flask" --app registry)

url=${REGISTRY_DATABASE_URL:-}
case "$url" in
  postgresql*) ;;
  "") echo "错误：未设置 REGISTRY_DATABASE_URL。生产部署须使用 PostgreSQL，例如 postgresql+psycopg://user@host:5432/registry" >&2; exit 2 ;;
  *) echo "错误：生产部署须使用 PostgreSQL（REGISTRY_DATABASE_URL 当前为 ${url%%:*}）。SQLite 只用于演示和单进程开发（make run）。" >&2; exit 2 ;;
esac
if [ -z "${REGISTRY_SECRET_KEY:-}" ]; then
  echo "错误：未设置 REGISTRY_SECRET_KEY（会话签名密钥，所有 worker 须相同）" >&2; exit 2
fi
if [ -z "${REGISTRY_AUDIT_KEY:-}" ]; then
  echo "提示：未设置 REGISTRY_AUDIT_KEY，审计日志的签名密钥取自 instance/audit_key（仅本机）；多台主机须设置相同的 REGISTRY_AUDIT_KEY" >&2
fi
if [ "${REGISTRY_TRUSTED_PROXIES:-0}" = "0" ]; then
  echo "提示：REGISTRY_TRUSTED_PROXIES=0：若前面有 nginx，请设为 1，否则审计日志和按地址限流只会看到 127.0.0.1" >&2
fi

# The QR code of every notice prints this address: a phone must be able to open it.
"${FLASK[@]}" registry notices check-base-url --production

"${FLASK[@]}" db upgrade
"${FLASK[@]}" registry seed-reference

pids=()
stop() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop EXIT INT TERM

"${FLASK[@]}" registry scheduler &
pids+=($!)
# Background tasks (large imports, batch prints). Further hosts may run more workers on the same database.
"${FLASK[@]}" registry worker &
pids+=($!)
"$VENV/bin/gunicorn" -c gunicorn.conf.py wsgi:app &
pids+=($!)
# Whichever exits first takes the other down: a server without its scheduler (or the reverse) is not a deployment.
wait -n "${pids[@]}"

"""gunicorn defaults for production (scripts/serve-prod.sh). Each value may be overridden by GUNICORN_* env."""
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "4"))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
worker_class = "gthread"
# Exports and notice PDFs of a whole township can take a while; anything longer is a bug, not a wait.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so a slow leak cannot grow for weeks.
max_requests = 2000
max_requests_jitter = 200
# No preload: each worker builds its own app and database pool after the fork (the scheduler runs apart).
preload_app = False
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = os.environ.get("GUNICORN_ERROR_LOG", "-")
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
access_log_format = '%(h)s %(t)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'
# Behind nginx on the same host: trust its X-Forwarded-* headers only from loopback.
forwarded_allow_ips = "127.0.0.1"

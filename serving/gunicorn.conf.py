"""gunicorn settings for the storefront: gthread workers, JSON access logs, Prometheus multiprocess metrics.

Run: gunicorn -c serving/gunicorn.conf.py   (the app is serving:create_app(), settings from the environment)
"""

import json
import os
import shutil
import tempfile
import traceback
from pathlib import Path

from gunicorn import glogging, util

wsgi_app = "serving:create_app()"
PUBLIC_BIND = os.environ.get("BFP_BIND", "127.0.0.1:8000")
# The internal listener (metrics, probes, admin, API docs): the public port + 1 unless set. Exported for the app,
# which answers those paths only on it; the Service exposes the public port alone.
_host, _, _port = PUBLIC_BIND.rpartition(":")
INTERNAL_BIND = os.environ.setdefault("BFP_INTERNAL_BIND", f"{_host}:{int(_port) + 1}")
bind = [PUBLIC_BIND, INTERNAL_BIND]
# Two workers per core is gunicorn's rule of thumb; threads overlap the waits on Postgres and Redis.
workers = int(os.environ.get("BFP_WORKERS", 2 * (os.cpu_count() or 1)))
worker_class = "gthread"
threads = int(os.environ.get("BFP_THREADS", "8"))
backlog = int(os.environ.get("BFP_BACKLOG", "2048"))
timeout = 30
graceful_timeout = 10
# Longer than the ALB's idle timeout (60 s): the balancer closes an idle connection first. A server that closed it
# first (gunicorn's default 5 s) races the balancer's next request on it: a stray 502 at peak.
keepalive = int(os.environ.get("BFP_KEEPALIVE_SECONDS", "75"))
accesslog = os.environ.get("BFP_ACCESS_LOG", "-")


class JsonAccessLogger(glogging.Logger):
    """The access log: one JSON object per request, encoded by `json`. gunicorn's own format only puts a backslash
    before a quote, so a client's backslash in a (percent-decoded) path or a header broke the line for every
    parser on-call uses; and it builds an atom for every header and environ key of every request (a quarter of
    a cached product's CPU, `make profile-serve`) where the line needs nine."""

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        line = json.dumps(
            {
                "ts": self.now(),
                "remote": environ.get("REMOTE_ADDR", "-"),
                "method": environ.get("REQUEST_METHOD"),
                "path": environ.get("PATH_INFO"),
                "query": environ.get("QUERY_STRING"),
                "status": str(status),
                "bytes": str(getattr(resp, "sent", None)),
                "seconds": f"{request_time.seconds}.{request_time.microseconds:06d}",  # gunicorn's %(L)s
                "agent": environ.get("HTTP_USER_AGENT", "-"),
            }
        )
        try:
            self.access_log.info(line)
        except Exception:  # as gunicorn's: a failed log line must not fail the response
            self.error(traceback.format_exc())


logger_class = JsonAccessLogger

# Metrics of all workers are summed from files in one folder; set before any worker imports prometheus_client.
METRICS_DIR = Path(os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="bfp-metrics-")))


def write_json_error(sock, status_int, reason, mesg):
    """gunicorn's own refusals (URL or header too long, malformed request) in the storefront's error shape,
    {code, message, details}, instead of gunicorn's HTML page."""
    if status_int == 400 and (mesg or "").startswith("Request Line is too large"):
        status_int, reason = 414, "URI Too Long"  # gunicorn 26 (MWAA's pin, so ours) says 400; RFC 9110 says 414
    body = json.dumps({"code": reason.lower().replace(" ", "_"), "message": mesg or reason, "details": {}}).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode("latin1")
    util.write_nonblock(sock, head + body)


# The workers' error path calls gunicorn.util.write_error by name: answer in JSON (set in the master, inherited).
util.write_error = write_json_error
# The request line may be as long as gunicorn allows; the app refuses past 4096 bytes in JSON (serving.validation).
# gunicorn's control socket defaults to one path per user ($HOME/.gunicorn/gunicorn.ctl): every master on a host
# would take it from the one before (several instances on one machine, `make serve-scaled`). Nothing here uses it.
control_socket_disable = True
limit_request_line = 8190


def on_starting(server):
    shutil.rmtree(METRICS_DIR, ignore_errors=True)  # counters of a previous run would be summed in
    METRICS_DIR.mkdir(parents=True, exist_ok=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)

"""Run N replicas of the app behind nginx on one address: for a room bigger than one process serves.

Each replica is ``streamlit run app.py`` on a port of its own; nginx (Debian's
package, ``apt-get install nginx``) listens on ``--port``, sends each new
browser to the next replica in turn and keeps it there by a cookie (see
``deploy/nginx.conf``). The replicas
share a cookie secret, so a visitor's XSRF token stays valid whichever one
serves them. One Python process runs one script at a time per interpreter
lock, so one replica per core is the natural size.

    python deploy/replicas.py --replicas 2 --port 8500      # then open http://127.0.0.1:8500; Ctrl-C stops all

With ``--timed DIR`` each replica runs through ``benchmarks/timed_server.py``
and logs the time it takes to answer each request to ``DIR/replica-N.log``
(the load test reads those to tell which replica answered).
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parent.parent
CONF = Path(__file__).resolve().parent / "nginx.conf"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, seconds: float) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer its health check within {seconds:.0f} s")


class Replicas:
    """N app replicas and nginx in front of them, on localhost; a context manager that stops them all."""

    def __init__(self, n: int = 2, port: Optional[int] = None, host: str = "127.0.0.1", timed: Optional[Path] = None,
                 env: Optional[dict] = None):
        if n < 1:
            raise ValueError(f"replicas must be at least 1; got {n}")
        if shutil.which("nginx") is None:
            raise RuntimeError("nginx is not installed: apt-get install nginx")
        self.n, self.host, self.port = n, host, port or free_port()
        self.timed = Path(timed) if timed else None
        self.env = dict(os.environ if env is None else env)
        self.ports = [free_port() for _ in range(n)]
        self.logs = [self.timed / f"replica-{j}.log" for j in range(n)] if self.timed else []
        self.prefix = Path(tempfile.mkdtemp(prefix="knn-nginx-"))
        self.procs: list = []

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, seconds: float = 300) -> "Replicas":
        secret = secrets.token_hex(16)
        for j, port in enumerate(self.ports):
            app = [sys.executable, "-m", "streamlit"]
            env = dict(self.env, STREAMLIT_SERVER_COOKIE_SECRET=secret)  # Streamlit takes it only from the environment
            if self.timed:
                self.timed.mkdir(parents=True, exist_ok=True)
                app = [sys.executable, str(ROOT / "benchmarks" / "timed_server.py")]
                env["KNN_RUN_LOG"] = str(self.logs[j])
            self.procs.append(subprocess.Popen(
                app + ["run", "app.py", "--server.headless", "true", "--server.address", "127.0.0.1",
                       "--server.port", str(port)],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for port in self.ports:
            wait_healthy(f"http://127.0.0.1:{port}", seconds)
        servers = "\n".join(f"        server 127.0.0.1:{p};" for p in self.ports)
        routes = "\n".join(f'        "127.0.0.1:{p}" 127.0.0.1:{p};' for p in self.ports)
        conf = CONF.read_text()
        for key, value in (("{prefix}", str(self.prefix)), ("{servers}", servers), ("{routes}", routes),
                           ("{host}", self.host), ("{port}", str(self.port))):
            conf = conf.replace(key, value)
        (self.prefix / "nginx.conf").write_text(conf)
        self.procs.append(subprocess.Popen(
            ["nginx", "-p", str(self.prefix), "-c", str(self.prefix / "nginx.conf"), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_healthy(self.url, 30)
        return self

    def pids(self) -> list:
        """The replicas' process ids (not nginx's)."""
        return [p.pid for p in self.procs[:self.n]]

    def stop(self) -> None:
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
        self.procs = []
        shutil.rmtree(self.prefix, ignore_errors=True)

    def __enter__(self) -> "Replicas":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicas", type=int, default=2, help="app processes (one per core is the natural size)")
    ap.add_argument("--port", type=int, default=8500, help="where nginx listens")
    ap.add_argument("--host", default="127.0.0.1", help="the address nginx listens on (0.0.0.0: every interface)")
    ap.add_argument("--timed", metavar="DIR", help="log each replica's answer times to DIR/replica-N.log")
    a = ap.parse_args(argv)
    try:
        with Replicas(a.replicas, a.port, a.host, a.timed) as r:
            print(f"{a.replicas} replicas (ports {', '.join(map(str, r.ports))}) behind nginx at {r.url}; Ctrl-C stops them",
                  flush=True)
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
            while all(p.poll() is None for p in r.procs):
                time.sleep(1)
            print("a replica or nginx stopped; stopping the rest", file=sys.stderr)
            return 1
    except (RuntimeError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())

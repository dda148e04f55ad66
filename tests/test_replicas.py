"""Several replicas behind nginx (deploy/replicas.py): each browser kept on one, a crowd served by both."""

import http.cookiejar
import os
import sys
import urllib.request

import pytest

from deploy.replicas import Replicas
from helpers import ROOT, mnist_dir


def visitor():
    """A client with its own cookie jar: (open(url) -> (status, the replica its cookie names now))."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def get(url):
        with opener.open(url, timeout=30) as r:
            status = r.status
        return status, next((c.value for c in jar if c.name == "knn_replica"), None)

    return get, jar


def test_each_browser_stays_on_its_replica_and_moves_when_it_stops():
    with Replicas(2, env=dict(os.environ, MNIST_DIR=str(mnist_dir()))) as r:
        replicas = {f"127.0.0.1:{p}" for p in r.ports}
        first, jar = visitor()
        status, mine = first(r.url + "/")
        assert status == 200 and mine in replicas
        assert all(first(r.url + path) == (200, mine) for path in ("/", "/_stcore/health", "/Evaluate"))
        second, _ = visitor()
        assert second(r.url + "/") == (200, (replicas - {mine}).pop())  # the next new browser: the other replica
        forged, forged_jar = visitor()
        forged_jar.set_cookie(http.cookiejar.Cookie(0, "knn_replica", "169.254.169.254:80", None, False, "127.0.0.1",
                                                    False, False, "/", True, False, None, True, None, None, {}))
        status, routed = forged(r.url + "/")  # a cookie naming anything else is ignored: no way out of the replicas
        assert status == 200 and routed in replicas
        r.procs[r.ports.index(int(mine.split(":")[1]))].terminate()  # this visitor's replica stops
        r.procs[r.ports.index(int(mine.split(":")[1]))].wait(20)
        status, now = first(r.url + "/")
        assert status == 200 and now in replicas - {mine}, (status, now)  # served by the other, which the cookie names


@pytest.mark.browser
@pytest.mark.slow
def test_a_crowd_through_the_proxy_is_served_by_every_replica():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from load import run

    os.environ.setdefault("MNIST_DIR", str(mnist_dir()))
    # answers and who gave them, not times or memory: no warm-up round, no memory figure, short settles
    res = run(sessions=4, drawings=2, timeout=60.0, settle=2.0, nice=19, replicas=2, first_visitor_memory=False,
              warm_up=False)
    print(res)
    assert res["answers"] == 8 and res["errors"] == 0, res["error_list"]
    assert len(res["runs_per_replica"]) == 2 and min(res["runs_per_replica"]) > 0, res["runs_per_replica"]

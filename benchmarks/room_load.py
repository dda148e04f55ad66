"""The rooms' store under a lecture hall's load, without browsers: many phones sending, a few walls polling.

A room is opened on the database (SQLite by default, in a temporary folder;
``--db postgresql://...`` for PostgreSQL). ``--visitors`` phones each send a
real packed drawing every ``--every`` seconds for ``--seconds`` seconds,
through ``--replicas`` separate stores (one connection pool each, as each
replica has), on ``--threads`` threads a store (a replica's script threads);
``--walls`` walls ask for the wall every second, as the Room page does. Half
way through, the lecturer starts the next round. A phone sends when
planned, but not before the store's limit (one send every 2 s) has passed
since its last send returned, as a person draws the next digit meanwhile:
a slow store delays a phone's sends, never brings them too close. One
phone in ten also taps Send a second time as soon as its first send
returns, which the store must refuse.

At the end every accepted send must be on the wall of its round exactly
once and nothing refused may be there; it reports how many sends were
accepted and refused (by reason), p50/p95 of a send and of a wall update,
and how long after its send each drawing was first seen on a wall.

``--page`` measures instead what a send adds to the Draw page's run, alone
(no other load): packing the strokes and making the thumbnail
(:func:`ui.rooms.parcel`) and the store's send, for real pen digits drawn
on the canvas, one phone every 2 s (the store's own clock runs ahead).

    python benchmarks/room_load.py [--visitors 300] [--every 5] [--seconds 120] [--db URL] [--json]
    python benchmarks/room_load.py --page [--db URL]
"""

from __future__ import annotations

import argparse
import heapq
import json
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from knn.sketch import Sketch, pack  # noqa: E402
from room.limits import LIMITS  # noqa: E402
from room.store import Reading, RoomError, Store  # noqa: E402


def drawings(n: int, seed: int = 0) -> list:
    """n packed drawings of a few strokes each, as phones send them (about 300 points, like a finger's digit)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        lines = tuple(np.round(np.cumsum(rng.normal(0, 4, (int(rng.integers(60, 160)), 2)), 0) * 4) / 4 + 140
                      for _ in range(int(rng.integers(1, 4))))
        out.append(pack(Sketch((280, 280), lines, tuple(18.0 for _ in lines))))
    return out


def percentiles(values) -> dict:
    if not values:
        return {"n": 0}
    a = np.asarray(values) * 1000
    return {"n": len(a), "p50_ms": round(float(np.percentile(a, 50)), 2),
            "p95_ms": round(float(np.percentile(a, 95)), 2),
            "max_ms": round(float(a.max()), 2)}


def run(visitors: int = 300, every: float = 5.0, seconds: float = 120.0, db=None, replicas: int = 2,
        threads: int = 8, walls: int = 3, seed: int = 0) -> dict:
    """Run the load once; a dict of what was measured (see the module's docstring)."""
    folder = None
    if db is None:
        folder = tempfile.TemporaryDirectory(prefix="knn-room-load-")
        db = f"sqlite:///{Path(folder.name) / 'rooms.sqlite'}"
    stores = [Store(db) for _ in range(replicas)]
    room, key = stores[0].open_room(4)
    code = room.code
    texts = drawings(64, seed)
    thumb = b"\x89PNG" + bytes(900)  # about a wall thumbnail's size
    rng = np.random.default_rng(seed)
    t0 = time.time() + 1.0
    planned = {}  # visitor: when each of its sends is due, every `every` seconds on its own phase
    for v in range(visitors):
        planned[v] = [t0 + w for w in np.arange(float(rng.uniform(0, every)), seconds, every)]
    events = [(ts[0], v, 0, False) for v, ts in planned.items() if ts]  # (when, visitor, send, a second tap)
    heapq.heapify(events)
    phones = threading.Condition()
    left = [len(events)]  # phones still to send
    lock = threading.Lock()
    accepted, refused, send_s, wall_s, seen_first = {}, Counter(), [], [], {}
    stop = threading.Event()

    def send(when, v, n, again):
        delay = when - time.time()
        if delay > 0:
            time.sleep(delay)
        try:
            deliver(v, n)
        finally:
            if not again:
                follow(v, n)

    def follow(v, n):
        """The phone's next send: when planned, but not before the store's limit allows it after this one
        returned (a person draws the next digit meanwhile); and a rude phone's second tap at once."""
        done = time.time()
        with phones:
            if v % 10 == 0 and n % 4 == 0:
                heapq.heappush(events, (done, v, n, True))  # too soon: to be refused
            if n + 1 < len(planned[v]):
                heapq.heappush(events, (max(planned[v][n + 1], done + LIMITS.send_every_s), v, n + 1, False))
            else:
                left[0] -= 1
            phones.notify()

    def deliver(v, n):
        store = stores[v % replicas]
        reading = Reading((v + n) % 10 if v % 7 == 0 else 4, (4,), v % 50 == 0, 0.5)
        start = time.perf_counter()
        try:
            d = store.send(code, f"visitor-{v:05d}", texts[(v + n) % len(texts)], reading, thumb)
        except RoomError as e:
            with lock:
                refused[type(e).__name__] += 1
            return
        took = time.perf_counter() - start
        with lock:
            accepted[d.id] = (d.round, time.time())
            send_s.append(took)

    def wall(j):
        store = stores[j % replicas]
        while not stop.is_set():
            start = time.perf_counter()
            try:
                _, _, shown = store.wall(code)
            except RoomError as e:
                with lock:
                    refused["wall " + type(e).__name__] += 1
                continue
            now = time.time()
            with lock:
                wall_s.append(time.perf_counter() - start)
                for d in shown:
                    seen_first.setdefault(d.id, now)
            stop.wait(1.0)

    def lecturer():
        stop.wait(max(0.0, t0 + seconds / 2 - time.time()))
        if not stop.is_set():
            stores[0].next_round(code, key, 7)

    watchers = [threading.Thread(target=wall, args=(j,), daemon=True) for j in range(walls)]
    watchers.append(threading.Thread(target=lecturer, daemon=True))
    for w in watchers:
        w.start()
    with ThreadPoolExecutor(max_workers=threads * replicas) as pool:
        futures = []
        with phones:
            while events or left[0]:
                lead = events[0][0] - time.time() - 0.05 if events else None
                if lead is None or lead > 0:
                    phones.wait(lead)  # hand each send to a thread just before its time
                    continue
                futures.append(pool.submit(send, *heapq.heappop(events)))
        for f in futures:
            f.result()
    time.sleep(1.5)  # one more poll of every wall
    stop.set()
    for w in watchers:
        w.join(5)

    # every accepted send on its round's wall exactly once, and nothing else
    final = []
    for number in (1, 2):
        final += [d.id for d in stores[0].wall(code, number, limit=None)[2]]
    counts = Counter(final)
    lost = sorted(set(accepted) - set(counts))
    doubled = sorted(i for i, c in counts.items() if c > 1)
    strangers = sorted(set(counts) - set(accepted))
    visible = [seen_first[i] - t for i, (_, t) in accepted.items() if i in seen_first]
    for s in stores:
        s.dispose()
    if folder is not None:
        folder.cleanup()
    return {
        "database": stores[0].url.get_backend_name(), "visitors": visitors, "every_s": every, "seconds": seconds,
        "replicas": replicas, "walls": walls, "accepted": len(accepted), "refused": dict(refused),
        "on_wall": len(final), "lost": len(lost), "doubled": len(doubled), "not_accepted_but_shown": len(strangers),
        "send": percentiles(send_s), "wall_update": percentiles(wall_s),
        "send_to_wall": percentiles(visible), "seen_on_a_wall": len(visible),
        "limits": {"send_every_s": LIMITS.send_every_s, "sends_per_round": LIMITS.sends_per_round},
    }


def page_send(db=None, n: int = 300) -> dict:
    """p50/p95 of the server's work for one press of Send: :func:`ui.rooms.parcel` and :meth:`Store.send`."""
    from knn.drawn import to_canvas
    from knn.pen import load_pendigits
    from ui.rooms import parcel

    folder = None
    if db is None:
        folder = tempfile.TemporaryDirectory(prefix="knn-room-page-")
        db = f"sqlite:///{Path(folder.name) / 'rooms.sqlite'}"
    clock = [time.time()]
    store = Store(db, clock=lambda: clock[0])
    room, key = store.open_room(4)
    pen = load_pendigits()[:n]
    sketches = [Sketch((280, 280), tuple(np.round(np.asarray(line) * 4) / 4
                                         for line in to_canvas(d.strokes, 0.7, (140, 140))),
                       tuple(18.0 for _ in d.strokes)) for d in pen]
    took, parts = [], []
    for j, sk in enumerate(sketches):
        picture = sk.picture()  # the page has it already: it read the drawing from it
        clock[0] += LIMITS.send_every_s
        start = time.perf_counter()
        strokes, thumb = parcel(sk, picture)
        made = time.perf_counter()
        store.send(room.code, f"visitor-{j % 20:05d}", strokes, Reading(4, (4,), False, 0.5), thumb)
        took.append(time.perf_counter() - start)
        parts.append(made - start)
        if (j + 1) % 20 == 0:
            store.next_round(room.code, key, 4)  # a phone sends at most 20 a round
    store.dispose()
    if folder is not None:
        folder.cleanup()
    return {"database": store.url.get_backend_name(), "sends": len(took), "send": percentiles(took),
            "pack_and_thumbnail": percentiles(parts)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--visitors", type=int, default=300)
    ap.add_argument("--every", type=float, default=5.0, help="seconds between one phone's sends")
    ap.add_argument("--seconds", type=float, default=120.0)
    ap.add_argument("--db", help="the database URL (default: SQLite in a temporary folder); "
                                 "postgresql://USER:PASSWORD@HOST/DB for PostgreSQL")
    ap.add_argument("--replicas", type=int, default=2, help="stores, one connection pool each, as replicas have")
    ap.add_argument("--threads", type=int, default=8, help="sending threads per store")
    ap.add_argument("--walls", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--page", action="store_true", help="what one press of Send costs the Draw page's run")
    a = ap.parse_args(argv)
    if a.page:
        res = page_send(a.db)
        print(json.dumps(res, indent=1) if a.json else "\n".join(f"{k}: {v}" for k, v in res.items()))
        return 0
    res = run(a.visitors, a.every, a.seconds, a.db, a.replicas, a.threads, a.walls)
    if a.json:
        print(json.dumps(res, indent=1))
    else:
        for k, v in res.items():
            print(f"{k}: {v}")
    return 0 if not (res["lost"] or res["doubled"] or res["not_accepted_but_shown"]) else 1


if __name__ == "__main__":
    sys.exit(main())

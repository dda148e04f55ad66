"""Command line: ``python -m room export CODE [--json]``, a room's drawings and confusion table.

The database is ``--db URL``, else ``$KNN_ROOM_DB``, else the app's SQLite
file. A room that does not exist, or a database that cannot be reached,
ends in one line on stderr and exit status 1.
"""

from __future__ import annotations

import argparse
import sys

from room.report import export, render
from room.store import RoomError, Store


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m room", description="The lecture rooms' walls, after the lecture.")
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("export", help="every round's drawings with prompt, reading and certainty, and the "
                                      "room's confusion table")
    p.add_argument("code", help="the room's code, as the projector showed it")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--db", metavar="URL", help="the rooms' database (default: $KNN_ROOM_DB, else the app's "
                                               "SQLite file in $KNN_CACHE)")
    a = ap.parse_args(argv)
    try:
        store = Store(a.db)  # a database setting it cannot use is a RoomError too
        try:
            report = export(store, a.code)
        finally:
            store.dispose()
    except RoomError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(render(report, a.json))
    return 0


if __name__ == "__main__":
    sys.exit(main())

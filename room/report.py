"""A room for the lecturer's follow-up: every round's drawings with prompt, reading and certainty, and the
room's confusion table (the digit asked for against the digit read), as a dict for JSON or as text."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime, timezone

import numpy as np

from room.store import Store, Tally, prompt_words

COLUMNS = [str(d) for d in range(10)] + ["not a digit"]  # the confusion table's columns: what was read


def confusion(drawings) -> np.ndarray:
    """(10, 11) counts: row = the digit asked for, column = the digit read (the last: "not a digit").
    Drawings of free rounds, and hidden ones, are not counted."""
    table = np.zeros((10, 11), np.int64)
    for d in drawings:
        if d.prompt is not None and not d.hidden:
            table[d.prompt, 10 if d.reading.not_a_digit else d.reading.prediction] += 1
    return table


def _when(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="seconds")


def export(store: Store, code: str) -> dict:
    """Everything the room holds, JSON-ready. Raises :class:`room.store.RoomError` as the store does."""
    room = store.room(code)
    drawings = store.drawings(code)
    rounds = []
    for r in store.rounds(code):
        mine = [d for d in drawings if d.round == r.number]
        rounds.append({
            "number": r.number, "prompt": r.prompt, "started": _when(r.started),
            "tally": asdict(r.tally),
            "drawings": [{"id": d.id, "sent": _when(d.sent), "prompt": d.prompt, "prediction": d.reading.prediction,
                          "prediction_set": list(d.reading.prediction_set), "not_a_digit": d.reading.not_a_digit,
                          "credibility": round(d.reading.credibility, 4), "right": d.right, "hidden": d.hidden,
                          "taught": d.taught, "strokes": d.strokes} for d in mine]})
    table = confusion(drawings)
    return {"room": room.code, "created": _when(room.created), "closed": room.closed, "rounds": rounds,
            "confusion": {"rows": "the digit asked for", "columns": COLUMNS,
                          "counts": {str(p): row.tolist() for p, row in enumerate(table) if row.any()}}}


def text(report: dict) -> str:
    """The export as a reader would want it in a terminal."""
    out = [f"Room {report['room']}, opened {report['created']}" + (" (closed)" if report["closed"] else "")]
    for r in report["rounds"]:
        t = r["tally"]
        asked = prompt_words(r["prompt"])
        words = Tally(**t).right_words(r["prompt"])
        right = f", {t['right']} {words}" if words else ""
        out.append(f"\nRound {r['number']}: draw {asked} ({t['sent']} on the wall{right}; started {r['started']})")
        for d in r["drawings"]:
            read = "not a digit" if d["not_a_digit"] else str(d["prediction"])
            mark = {None: "", True: " ✓", False: " ✗"}[d["right"]]
            notes = "".join([" hidden" if d["hidden"] else "", " taught" if d["taught"] else ""])
            digits = ",".join(map(str, d["prediction_set"])) or "none"
            out.append(f"  #{d['id']:<6} {d['sent']}  read {read}{mark}  set {{{digits}}}  "
                       f"credibility {d['credibility']:.0%}{notes}")
    counts = report["confusion"]["counts"]
    if counts:
        out.append("\nAsked for (rows) against read as (columns; ? = not a digit):")
        out.append("      " + " ".join(f"{c[:1] if c != 'not a digit' else '?':>4}" for c in COLUMNS))
        for p, row in counts.items():
            out.append(f"  {p:>2}  " + " ".join(f"{n:>4}" for n in row))
    return "\n".join(out)


def render(report: dict, as_json: bool = False) -> str:
    """The export as a file: JSON, or the text of :func:`text`."""
    return json.dumps(report, indent=1) if as_json else text(report)

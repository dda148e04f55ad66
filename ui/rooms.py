"""The room as the pages see it: the process's store, a visitor's banner and Send, the room's taught digits.

A join link (``/?room=CODE``) opens the Draw page in a room: a banner names
the room and its prompt, and **Send to the wall** puts the drawing and its
answer on the room's wall (:mod:`room.store`). Nothing leaves the page before
that button is pressed; when the wall cannot take it, the page says why and
the drawing stays on the canvas. A drawing made while the room asked for
another digit than it asks for now is not sent at the first press: the page
says what the room asks for now, and a second press sends it all the same.
The wall gets what the references read, never a visitor's own label: a
drawing they corrected is sent as it was read before the correction.
Drawings the lecturer taught the room are searched as the visitor's own
references are (☆). A drawing opened from the wall (``/?drawing=...&wall=CODE``)
is read with them too, as the room's phones read it, beside the wall's
caption for it, and nothing is sent from there. Outside a room nothing here
touches the database.
"""

from __future__ import annotations

import secrets
import urllib.parse
from typing import Optional

import numpy as np
import streamlit as st

from knn.figures import for_display, png
from knn.preprocess import ImageError
from knn.sketch import LinkError, pack, unpack
from room.store import PromptChanged, Reading, Room, RoomError, Store, Unreachable, normal_code, prompt_words

ROOM = "room"  # the query parameter of a join link
LINK = "drawing"  # the query parameter of a shared drawing (the Draw page's share link, a drawing on a wall)
WALL = "wall"  # the query parameter of a drawing opened from a room's wall: the room whose taught digits read it
THUMBNAIL = 70  # px: a drawing on the wall (the 280 px canvas box-averaged 4 to 1)


@st.cache_resource
def store() -> Store:
    """The process's one store (a pool of connections to the rooms' database), shared by every visitor."""
    return Store()


def code_in_link() -> str:
    """The room code the address names (``?room=``), normalised; "" if none, or if it cannot be a code."""
    return normal_code(st.query_params.get(ROOM))


def link_named_a_room() -> bool:
    return bool(st.query_params.get(ROOM))


def link(page: str = "", **params) -> str:
    """The address of one of the app's pages ("" for Draw, "Room") with these query parameters, as this
    visitor's browser reaches the server (behind a proxy too)."""
    parts = urllib.parse.urlsplit(st.context.url or "")
    root = parts.path.rsplit("/", 1)[0] + "/" if parts.path else "/"  # the app's root, whichever page this is
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, root + page, urllib.parse.urlencode(params), ""))


def join_link(code: str) -> str:
    """The Draw page in room ``code``: what the QR code holds."""
    return link(**{ROOM: code})


def visit() -> Optional[Room]:
    """On the Draw page: the room the join link names, with its banner shown; None (with the reason) if none."""
    if not link_named_a_room():
        return None
    try:
        room = store().room(st.query_params.get(ROOM))
    except Unreachable as e:  # the room may well be there: keep Send, which says so again if it still fails
        st.warning(f"Room {code_in_link()}: {e}")
        return Room(code_in_link(), round=0, prompt=None, closed=False, created=0.0, active=0.0)
    except RoomError as e:
        st.warning(f"{e} You can still draw here; nothing is sent.")
        return None
    st.html(f'<div class="knn-room-banner">{room.banner()}'
            + (" · closed" if room.closed else "") + "</div>")
    return room


def from_wall() -> Optional[Room]:
    """On the Draw page opened from a room's wall (``?wall=CODE``, and no join link): the room whose taught
    digits (☆) read the drawing, as they do on its phones, with a line saying so and quoting the wall's caption
    of the drawing; there is no Send. None if the address names no wall, or (with the reason shown) if the room
    cannot be read."""
    code = st.query_params.get(WALL)
    if not code or link_named_a_room():
        return None
    try:
        room, shown = store().shown(code, st.query_params.get(LINK, ""))
    except RoomError as e:
        st.caption(f"Opened from a wall: {e} The drawing is read without the room's taught digits.")
        return None
    there = f", which shows it as “{shown.caption()}”, as the sender's phone read it" if shown else ""
    st.caption(f"Opened from the wall of room {room.code}{there}. Here it is read as the room's phones read it now: "
               "with the room's taught digits (☆), but without the sender's own (★), which stay on their phone. "
               "Nothing is sent from here.")
    return room


def visitor() -> str:
    """A random token for this browser session: how the room counts one phone's sends. No name, no address."""
    return st.session_state.setdefault("visitor", secrets.token_urlsafe(16))


def parcel(sketch, picture: np.ndarray) -> tuple:
    """What a send carries besides the answer: (the strokes packed as a share link, a PNG thumbnail of the
    drawing as the page read it). Raises LinkError for a drawing too large to pack."""
    return pack(sketch), png(for_display(picture, THUMBNAIL))


def note_drawing(room: Room, sketch) -> None:
    """Note the room as this run shows it whenever the drawing on the canvas is new or has changed: what the
    room asked for while it was made (:func:`send` tells the store)."""
    try:
        strokes = pack(sketch)
    except LinkError:
        return
    made = st.session_state.get("drawn_in")
    if room.round and (made is None or made[0] != strokes):  # round 0: the room could not be read this run
        st.session_state["drawn_in"] = (strokes, room)


def drawn_in(strokes: str) -> Optional[Room]:
    """The room as the page showed it when this drawing was last changed; None if not noted."""
    made = st.session_state.get("drawn_in")
    return made[1] if made is not None and made[0] == strokes else None


def send(room: Room, sketch, picture: np.ndarray, ans, level: float, unlabelled) -> tuple:
    """Put a drawing and its answer on the room's wall: (sent?, message for the visitor).

    A drawing the visitor corrected is read on their page as they tapped (their own copy of it lies at
    distance 0); a label is not a reading, so the wall gets ``unlabelled()`` instead: the drawing read without
    that copy, as the references and the visitor's other digits read it.
    """
    labelled = ans.decided_by is not None and ans.decided_by.distance == 0
    if labelled:
        ans = unlabelled()
    cert = ans.certainty
    reading = Reading(ans.prediction, tuple(cert.prediction_set(level)), bool(cert.not_a_digit),
                      float(cert.credibility))
    try:
        strokes, thumbnail = parcel(sketch, picture)
        store().send(room.code, visitor(), strokes, reading, thumbnail, seen=drawn_in(strokes))
    except PromptChanged as e:
        st.session_state["drawn_in"] = (strokes, e.room)  # told: the next press sends it as it is
        return False, (f"Not sent: {e} Press Send to the wall again to send it all the same, or clear it and "
                       f"draw {prompt_words(e.room.prompt)}.")
    except (RoomError, LinkError) as e:
        return False, f"Not sent: {e} Your drawing is still here."
    st.session_state["sent"] = strokes
    before = ", as it was read before your correction" if labelled else ""
    return True, f"Sent to the wall of room {room.code}, read as {reading.words()}{before}."


def already_sent(sketch) -> bool:
    """Whether this very drawing was the last one this visitor sent."""
    try:
        return st.session_state.get("sent") == pack(sketch)
    except LinkError:
        return False


def group_taught(space, room: Optional[Room]) -> list:
    """The digits the lecturer taught the room, as (vector, label, picture) in ``space``; [] outside a room."""
    if room is None:
        return []
    try:
        items = tuple(store().taught(room.code))
    except RoomError:
        return []  # the answer goes on without them; the banner already said what it could
    return list(_read_taught(space, items, space.name)) if items else []


@st.cache_resource(max_entries=64, show_spinner=False)
def _read_taught(_space, items: tuple, space_name: str) -> tuple:
    """(vector, label, picture) of each taught drawing, read as ``_space`` reads a drawing; kept per set and
    space (``space_name`` keys the cache: the space object itself is not hashed)."""
    pictures, labels = [], []
    for _, label, strokes in items:
        try:
            pictures.append(_space.read(unpack(strokes).picture()).centred)
            labels.append(label)
        except (LinkError, ImageError):
            continue  # checked when sent; one that cannot be read is left out, not fatal
    if not pictures:
        return ()
    seen = _space.pixels(np.stack(pictures))
    return tuple(zip(_space.encode(seen), labels, seen))


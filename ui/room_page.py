"""The Room page: a lecturer opens a room, the projector shows its live wall, the moderator runs its rounds.

``/Room`` opens a room; ``/Room?room=CODE`` is its wall, for the projector or
any laptop: the prompt, the join link and its QR code, the tally, and the
newest drawings, updated every second without reloading. A drawing opens in
the Draw view with its neighbours, read with the room's taught digits. The
lecturer's browser also holds the room's moderator key (taken from the link
``?room=CODE&key=...`` into the session, then dropped from the address, so
the projector never shows it): with it the page adds the controls (prompt,
next round, hide, teach the room, close), and the store checks the key
again for every action.
"""

from __future__ import annotations

import html

import segno
import streamlit as st

from knn.figures import png_uri
from room import report
from room.store import Room, RoomError, prompt_words
from ui import rooms
from ui.widgets import LAYOUT, PICTURES

KEY = "key"  # the query parameter of the lecturer's link
EVERY = 1.0  # s: how often a wall asks the store for news
PROMPTS = [None, *range(10)]  # what a round can ask for: any digit, or one
CELL = 104  # px: a drawing on the moderator's grid with its two buttons (as wide as its picture)

WALL = """<style>
.knn-wall { display: grid; grid-template-columns: repeat(auto-fill, minmax(112px, 1fr)); gap: 12px 8px; }
.knn-wall figure { margin: 0; text-align: center; }
.knn-wall img { width: 104px; height: 104px; outline: 1px solid #5a6270; background: #000; }
.knn-wall figcaption { font-size: 1.1rem; line-height: 1.3; margin-top: 2px; }
.knn-right { color: #5ad17a; } .knn-wrong { color: #ff6b6b; font-weight: 600; }
.knn-code { font-size: 3.4rem; font-weight: 800; letter-spacing: 0.25em; line-height: 1.1; margin: 0.2rem 0; }
.knn-qr img { width: 100%; max-width: 300px; image-rendering: pixelated; background: #fff; }
.knn-tally { font-size: 1.2rem; line-height: 1.6; }
.knn-tally b { font-size: 1.6rem; }
/* a lecturer moderating from a phone, where the columns stack: the controls and the wall first, the join after */
@media (max-width: 640px) { [data-testid="stColumn"]:has(.st-key-join-moderated) { order: 2; } }
</style>"""


def moderator_key(code: str):
    """The moderator key this session holds for ``code``: moved here from the link, then dropped from the
    address (a projected address bar would show it). None if the session holds none."""
    keys = st.session_state.setdefault("moderator", {})
    given = st.query_params.get(KEY)
    if given:
        keys[code] = given
        del st.query_params[KEY]
    return keys.get(code)


def lobby() -> None:
    """No room named: open one, or go to a room's wall by its code."""
    st.markdown("Open a room for a lecture: everyone who scans its code draws on their phone and sends to one "
                "wall on the projector, where the room sees what the model read, right and wrong.")
    c1, c2 = st.columns(2, gap="large")
    with c1.container(border=True):
        st.subheader("Open a room")
        prompt = st.selectbox("The first round asks for", PROMPTS, format_func=prompt_words, index=5, key="first")
        if st.button("Open a room", type="primary", icon=":material/add:", key="open"):
            try:
                room, key = rooms.store().open_room(prompt)
            except RoomError as e:
                st.error(f"No room was opened: {e}")
                return
            st.session_state.setdefault("moderator", {})[room.code] = key
            st.session_state["fresh"] = room.code
            st.query_params[rooms.ROOM] = room.code
            st.rerun()
    with c2.container(border=True):
        st.subheader("Show a room's wall")
        code = st.text_input("Room code", max_chars=8, key="watch", placeholder="KXRT")
        if code:
            st.query_params[rooms.ROOM] = code
            st.rerun()


def qr_uri(link: str) -> str:
    """The join link as a QR code (PNG data URI), medium error correction, a 4-module quiet zone."""
    return segno.make(link, error="m").png_data_uri(scale=8, border=4)


def join(room: Room) -> None:
    """The code, the QR code and the join link, for the back of the hall."""
    link = rooms.join_link(room.code)
    st.html(f'<div class="knn-qr"><img src="{qr_uri(link)}" alt="QR code of the join link"></div>'
            f'<div class="knn-code">{room.code}</div>')
    st.caption("Scan, or open the link, then draw and press **Send to the wall**:")
    st.code(link, language=None, wrap_lines=True)


def tally_html(rnd, shown: int) -> str:
    t = rnd.tally
    parts = [f"<b>{t.sent}</b> sent"]
    right = t.right_words(rnd.prompt)
    if right:
        parts.append(f"<b>{t.right}</b> {right}")
    hide = rnd.prompt if t.only_asked(rnd.prompt) else None  # its count is the one just given
    others = [f"{n} as {d}" for d, n in enumerate(t.by_digit) if n and d != hide]
    if others:
        parts.append(", ".join(others))
    if t.not_a_digit:
        parts.append(f"{t.not_a_digit} not a digit")
    more = f" · showing the newest {shown}" if shown < t.sent else ""
    return f'<div class="knn-tally">{" · ".join(parts)}{more}</div>'


def figure(d, code: str) -> str:
    """A drawing on the wall, its caption under it; it opens in the Draw view, read with the room's taught digits."""
    text, css = d.caption(), {None: "", True: "knn-right", False: "knn-wrong"}[d.right]
    opens = html.escape(f"./?{rooms.LINK}={d.strokes}&{rooms.WALL}={code}")
    return (f'<figure><a href="{opens}" target="_blank" title="Open #{d.id} with its neighbours">'
            f'<img src="{png_uri(d.thumbnail)}" alt="drawing {d.id}"></a>'
            f'<figcaption class="{css}">{html.escape(text)}</figcaption></figure>')


@st.fragment(run_every=EVERY)
def live(code: str, number=None) -> None:
    """The wall of round ``number`` (None: whichever is current): heading, tally and drawings, asked of the
    store again every EVERY seconds."""
    if "room_error" in st.session_state:
        st.error(st.session_state.pop("room_error"))
    try:
        room, rnd, shown = rooms.store().wall(code, number)
    except RoomError as e:
        st.warning(f"{e} The wall tries again every second.")
        return
    key = st.session_state.get("moderator", {}).get(code)
    now = "" if rnd.number == room.round else f" (an earlier round; the room is on round {room.round})"
    closed = " · closed to new drawings" if room.closed else ""
    st.subheader(f"Round {rnd.number}: draw {prompt_words(rnd.prompt)}{now}{closed}")
    st.html(tally_html(rnd, len(shown)))
    if not shown:
        st.info("No drawings yet: they appear here a second after each send.")
    elif key is None:
        st.html(f'<div class="knn-wall">{"".join(figure(d, code) for d in shown)}</div>')
    else:
        moderated(code, key, shown)


def moderated(code: str, key: str, shown: list) -> None:
    """The wall with a Hide and a Teach button under each drawing (the moderator's own browser only), in rows
    that wrap as the wall's do, so a phone shows three or so a row rather than one."""
    grid = st.container(horizontal=True, gap="small", key="moderated")
    for d in shown:
        cell = grid.container(width=CELL, gap="small")
        cell.html(f'<div class="knn-wall">{figure(d, code)}</div>')
        row = cell.container(horizontal=True, gap="small")
        row.button("", icon=":material/visibility_off:", key=f"hide-{d.id}",
                   help=f"Hide #{d.id} from every wall" + (" and from the room's references" if d.taught else ""),
                   on_click=act, args=(lambda s, i=d.id: s.hide(code, key, i),))
        row.button("", icon=":material/school:", key=f"teach-{d.id}", type="primary" if d.taught else "secondary",
                   help=("Taught to the room: press to stop" if d.taught else
                         f"Teach the room: every phone in it reads #{d.id} as a {d.prompt}"),
                   disabled=d.prompt is None,
                   on_click=act, args=(lambda s, i=d.id, on=not d.taught: s.teach(code, key, [i], on),))


def act(do) -> None:
    """A moderator's action, ``do(store)`` (a button's callback); the store checks the key again."""
    try:
        do(rooms.store())
    except RoomError as e:
        st.session_state["room_error"] = str(e)


def controls(room: Room, key: str) -> None:
    """The moderator's bar above the wall: the prompt, the next round, the room closed or open."""
    ask = f"ask-{room.round}"
    bar = st.container(horizontal=True, vertical_alignment="bottom", gap="small")
    prompt = bar.selectbox("Ask for", PROMPTS, index=PROMPTS.index(room.prompt), format_func=prompt_words, key=ask,
                           width=150)
    code = room.code  # the prompt below is read when the button is pressed, not when it was drawn
    bar.button("Set the prompt", key="set-prompt", disabled=prompt == room.prompt,
               on_click=act, args=(lambda s: s.set_prompt(code, key, st.session_state[ask]),))
    bar.button("Next round", key="next-round", icon=":material/skip_next:",
               on_click=act, args=(lambda s: s.next_round(code, key, st.session_state[ask]),),
               help="Start a new round asking for this; the earlier ones stay")
    bar.button("Reopen the room" if room.closed else "Close the room", key="close-room",
               icon=":material/lock_open:" if room.closed else ":material/lock:",
               on_click=act, args=(lambda s, shut=not room.closed: s.close_room(code, key, shut),))
    st.caption("You moderate this room (only this browser). Under each drawing: hide it from every wall, or teach "
               "it to the room: a reference for every phone in it, labelled with its round's digit (☆).")


def moderator_link(room: Room, key: str) -> None:
    with st.expander("Your moderator link (keep it; never project it)"):
        st.code(rooms.link("Room", **{rooms.ROOM: room.code, KEY: key}), language=None, wrap_lines=True)
        st.caption("It opens these controls in any browser. Anyone with it can run the room.")


def downloads(room: Room) -> None:
    """The room's export for the lecturer's follow-up (as ``python -m room export`` writes it), made from the
    store when a button is pressed, not when the page ran."""
    code, store = room.code, rooms.store()
    st.caption("After the lecture: every round's drawings with prompt, reading and certainty (hidden ones "
               "marked), and the room's confusion table.")
    row = st.container(horizontal=True, gap="small")
    for label, as_json, ext, mime in (("Report", False, "txt", "text/plain"),
                                      ("JSON", True, "json", "application/json")):
        row.download_button(label, data=lambda j=as_json: report.render(report.export(store, code), j),
                            file_name=f"room-{code}.{ext}", mime=mime, on_click="ignore",
                            icon=":material/download:", key=f"download-{ext}")


def main() -> None:
    st.set_page_config(initial_sidebar_state="collapsed")  # a projector wants the whole width for the wall
    st.html(PICTURES + LAYOUT + WALL)
    if not rooms.link_named_a_room():
        st.title("Room")
        lobby()
        return
    code = rooms.code_in_link()  # "" if the link's is not a code: the store says so
    key = moderator_key(code)
    try:
        room = rooms.store().room(code)
    except RoomError as e:
        st.title("Room")
        st.error(str(e))
        del st.query_params[rooms.ROOM]
        lobby()
        return
    try:
        kept = key is not None and rooms.store().is_moderator(code, key)
    except RoomError as e:  # the database went away since the room was read: the wall says so too
        st.warning(str(e))
        kept = None
    if key is not None and kept is False:
        st.session_state["moderator"].pop(code, None)
        st.warning("That link's moderator key is not this room's: you see the wall, and can change nothing.")
    if not kept:
        key = None
    notice = st.empty()  # on every run, so that what follows keeps its place once the notice is gone
    if st.session_state.pop("fresh", None) == code:
        notice.success(f"Room {code} is open. Keep the moderator link below: it is how you run the room.")
    left, right = st.columns([1, 3], gap="large")
    with left.container(key="join" if key is None else "join-moderated"):
        join(room)
        if key is not None:
            moderator_link(room, key)
            downloads(room)
    with right:
        if key is not None:
            controls(room, key)
        number = None
        if room.round > 1:  # earlier rounds stay, with their drawings and tallies
            number = st.selectbox("Show", [None, *range(room.round - 1, 0, -1)], key="round-shown",
                                  format_func=lambda n: "the current round" if n is None else f"round {n}")
        live(code, number)


main()

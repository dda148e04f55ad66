"""The Room page and the Draw page in a room, through AppTest, on SQLite and PostgreSQL: open, wall,
moderation, Send, refusals."""

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from helpers import APP, ROOT, captions, fix, lost_session, prediction

ROOM_PAGE = str(ROOT / "ui" / "room_page.py")


def pages_store(monkeypatch, url):
    """The pages pointed at the database at url, their store made anew for it; yields a store of the test's own."""
    from room.store import Store
    from ui import rooms

    monkeypatch.setenv("KNN_ROOM_DB", url)
    rooms.store.clear()
    store = Store(url)
    yield store
    store.dispose()
    rooms.store.clear()


@pytest.fixture
def db(monkeypatch, room_db):
    """The Room page's database, SQLite (the fast tier) and PostgreSQL."""
    yield from pages_store(monkeypatch, room_db)


@pytest.fixture
def draw_db(monkeypatch, room_db_full):
    """The Draw page's database, SQLite and PostgreSQL: the page reads with the shipped references."""
    yield from pages_store(monkeypatch, room_db_full)


def room_page(**params) -> AppTest:
    at = AppTest.from_file(ROOM_PAGE, default_timeout=600)
    for k, v in params.items():
        at.query_params[k] = v
    return at.run()


def html(at) -> str:
    return "".join(block.proto.body for block in at.get("html"))


def strokes(label=7):
    from knn.drawn import BROWSER_DIGITS
    from knn.sketch import Sketch, pack

    return pack(Sketch((280, 280), tuple(np.asarray(line, float) for line in BROWSER_DIGITS[label]),
                       (18.0,) * len(BROWSER_DIGITS[label])))


def sent(store, code, n=3, prompt_right=2):
    """n drawings on the room's wall, sent straight to the store by n phones; the first prompt_right read as 4."""
    from room.store import Reading

    return [store.send(code, f"phone-number-{j}", strokes(), Reading(4 if j < prompt_right else 9, (4,), False, 0.5),
                       b"") for j in range(n)]


@pytest.mark.unit
def test_a_phone_put_away_for_a_lecture_finds_its_session_again(monkeypatch):
    """The server keeps a disconnected session (a phone's own digits and drawing, a lecturer's moderator key)
    for an hour, as `streamlit run app.py` reads its settings, where Streamlit's default dropped it after
    2 minutes (measured through a proxy cut for 200 s: the phone's own digit was gone, and its first tap only
    started a new session; docs/wall.md)."""
    from streamlit import config

    with monkeypatch.context() as m:
        m.chdir(ROOT)  # where `streamlit run app.py` starts, and so where it looks for .streamlit/
        try:
            config.get_config_options(force_reparse=True)
            kept = config.get_option("server.disconnectedSessionTTL")
            shipped = config.get_where_defined("server.disconnectedSessionTTL")
        finally:
            m.undo()
            config.get_config_options(force_reparse=True)
    assert kept >= 3600 and shipped == str(ROOT / ".streamlit" / "config.toml")


def test_a_lecturer_opens_a_room_and_holds_its_key(db):
    at = room_page()
    assert not at.exception and any("Open a room" in s.value for s in at.subheader)
    at.selectbox(key="first").set_value(4)
    at.button(key="open").click().run()
    assert not at.exception
    code = at.query_params["room"][0] if isinstance(at.query_params["room"], list) else at.query_params["room"]
    assert "key" not in at.query_params  # the key never stands in the address a projector shows
    assert any(f"Room {code} is open" in s.value for s in at.success)
    assert f'class="knn-code">{code}<' in html(at) and "QR code of the join link" in html(at)
    links = [c.value for c in at.code]
    assert f"/?room={code}" in links  # the join link, for phones
    mod = [link for link in links if "key=" in link]
    assert len(mod) == 1 and db.is_moderator(code, mod[0].split("key=")[1])  # the lecturer's link, in an expander
    assert any(h.value == "Round 1: draw a 4" for h in at.subheader)
    assert at.button(key="next-round") and at.button(key="close-room")


def test_the_wall_shows_drawings_with_their_readings_and_a_tally(db):
    room, _ = db.open_room(4)
    sent(db, room.code)
    at = room_page(room=room.code.lower())
    assert not at.exception
    page = html(at)
    assert "<b>3</b> sent · <b>2</b> read as 4 (67%) · 1 as 9" in page
    assert page.count("4 ✓") == 2 and page.count("9 ✗") == 1
    # each opens in the Draw view with its neighbours, read with the room's taught digits
    assert page.count(f'href="./?drawing={strokes()}&amp;wall={room.code}"') == 3
    assert not [b for b in at.button if str(b.key).startswith("hide-")]  # no key: no controls


def test_after_the_prompt_changes_the_tally_judges_each_drawing_against_its_own(db):
    room, key = db.open_room(4)
    sent(db, room.code)  # asked for a 4: two read as 4, one as 9
    db.set_prompt(room.code, key, 9)
    page = html(room_page(room=room.code))
    assert "<b>3</b> sent · <b>2</b> read as asked (67%) · 2 as 4, 1 as 9" in page  # not "2 read as 9"
    assert page.count("4 ✓") == 2 and page.count("9 ✗") == 1


def test_a_guessed_key_changes_nothing(db):
    room, key = db.open_room(4)
    ids = [d.id for d in sent(db, room.code)]
    at = room_page(room=room.code, key="guessed-" + key[8:])
    assert not at.exception
    assert any("not this room's" in w.value for w in at.warning)
    assert not [b for b in at.button if str(b.key).startswith(("hide-", "teach-"))]
    assert not [b for b in at.button if b.key in ("next-round", "close-room")]
    assert [d.id for d in db.wall(room.code)[2]][::-1] == ids and db.room(room.code).round == 1


def test_the_moderator_hides_teaches_and_runs_rounds(db):
    room, key = db.open_room(4)
    first, second, third = sent(db, room.code)
    at = room_page(room=room.code, key=key)
    at.button(key=f"hide-{third.id}").click().run()
    assert not at.exception and [d.id for d in db.wall(room.code)[2]] == [second.id, first.id]
    assert f"drawing {third.id}" not in html(at)
    at.button(key=f"teach-{first.id}").click().run()
    assert db.taught(room.code) == [(first.id, 4, strokes())]
    assert "4 ✓ ☆" in html(at)
    assert at.button(key=f"hide-{first.id}").help.endswith("and from the room's references")
    at.button(key=f"teach-{second.id}").click().run()
    at.button(key=f"hide-{second.id}").click().run()  # taught, then hidden: out of every phone's search too
    assert not at.exception and db.taught(room.code) == [(first.id, 4, strokes())]
    at.selectbox(key="ask-1").set_value(7)
    at.button(key="next-round").click().run()
    assert not at.exception and db.room(room.code).round == 2 and db.room(room.code).prompt == 7
    assert any(h.value == "Round 2: draw a 7" for h in at.subheader)
    at.selectbox(key="round-shown").set_value(1).run()  # the earlier round, with its drawings
    assert any(h.value.startswith("Round 1: draw a 4 (an earlier round") for h in at.subheader)
    at.button(key="close-room").click().run()
    assert db.room(room.code).closed and any("closed to new drawings" in h.value for h in at.subheader)


def test_the_moderator_downloads_the_room_as_it_is_when_pressed(db, monkeypatch):
    from streamlit.runtime.media_file_manager import MediaFileManager

    from room import report

    made = {}  # file name -> what its button would make when pressed
    register = MediaFileManager.add_deferred

    def kept(self, data, mimetype, coordinates, file_name=None, **kw):
        made[file_name] = data
        return register(self, data, mimetype, coordinates, file_name, **kw)

    monkeypatch.setattr(MediaFileManager, "add_deferred", kept)
    room, key = db.open_room(4)
    at = room_page(room=room.code, key=key)
    assert not at.exception and sorted(made) == [f"room-{room.code}.json", f"room-{room.code}.txt"]
    sent(db, room.code)  # after the page ran: the files are made from the store at the press
    assert made[f"room-{room.code}.txt"]() == report.text(report.export(db, room.code))
    assert "2 read as 4 (67%)" in made[f"room-{room.code}.txt"]()
    assert '"prediction": 9' in made[f"room-{room.code}.json"]()
    made.clear()
    watcher = room_page(room=room.code)  # the wall without the key: no export (it holds hidden drawings)
    assert not watcher.exception and not made and not watcher.get("download_button")


@pytest.mark.parametrize("code,says", [("WXYA", "There is no room WXYA"), ("<b>x</b>", "not a room code"),
                                       ("ZZZZ", "is 4 of the letters A C E F H J K M N P R T W X Y")])
def test_a_room_that_is_not_there_says_so(db, code, says):
    at = room_page(room=code)
    assert not at.exception and any(says in e.value for e in at.error)
    assert any("Open a room" in s.value for s in at.subheader)  # the lobby, to go on from


@pytest.mark.unit
def test_an_unreachable_database_is_said_plainly(monkeypatch):
    from ui import rooms

    monkeypatch.setenv("KNN_ROOM_DB", "postgresql://knn:knn@127.0.0.1:1/none")
    rooms.store.clear()
    at = room_page()
    at.button(key="open").click().run()
    assert not at.exception and any("cannot be reached" in e.value for e in at.error)
    at = room_page(room="KXRT")
    assert not at.exception and any("cannot be reached" in e.value for e in at.error)
    rooms.store.clear()


# ---- the Draw page in a room (the shipped references) ----

def draw_page(code, drawing=None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=600)
    at.query_params["room"] = code
    if drawing:
        at.query_params["drawing"] = drawing
    return at.run()


def test_a_visitor_sends_a_drawing_to_the_wall(draw_db):
    room, key = draw_db.open_room(7)
    at = draw_page(room.code)
    assert not at.exception and f"Room {room.code} · draw a 7" in html(at)
    assert at.button(key="send").disabled  # nothing drawn: nothing to send
    at = draw_page(room.code, strokes())
    assert draw_db.wall(room.code)[1].tally.sent == 0  # nothing leaves the page before Send
    said = prediction(at)
    at.button(key="send").click().run()
    assert not at.exception
    assert [t.value for t in at.toast] and "Sent to the wall" in at.toast[0].value
    _, rnd, shown = draw_db.wall(room.code)
    assert rnd.tally.sent == 1 and str(shown[0].reading.prediction) == said[0] and shown[0].strokes == strokes()
    assert shown[0].thumbnail.startswith(b"\x89PNG") and shown[0].reading.prediction_set
    assert at.button(key="send").disabled and at.button(key="send").label == "Sent"  # this drawing is on the wall
    at.radio(key="input").set_value("Number").run()  # no Send here: the page says where it is
    assert not at.exception and not [b for b in at.button if b.key == "send"]
    assert any(c.value == f"The wall of room {room.code} takes one drawn digit at a time: choose **Draw** to send one."
               for c in at.caption)
    draw_db.close_room(room.code, key)
    at = draw_page(room.code, strokes(1))
    assert "closed" in html(at) and at.button(key="send").disabled and prediction(at)


def test_a_refused_send_says_why_and_keeps_the_drawing(draw_db, monkeypatch):
    from room.store import Store, TooFast

    room, _ = draw_db.open_room(7)
    at = draw_page(room.code, strokes())

    def too_fast(*a, **k):
        raise TooFast("Sent a moment ago: wait 2 s before the next (one drawing every 2 s).")

    monkeypatch.setattr(Store, "send", too_fast)
    said = prediction(at)
    at.button(key="send").click().run()
    assert not at.exception and any("Not sent: Sent a moment ago" in w.value for w in at.warning)
    assert prediction(at) == said and not at.button(key="send").disabled  # the drawing and its answer stay


def test_a_lost_session_sends_on_the_first_press(draw_db):
    """The server lost the phone's session (a restart, a replica stopped) between its drawing and Send: the
    page, drawn by the old session, sends the canvas and the press to a new one, which sends the drawing."""
    room, _ = draw_db.open_room(7)
    at = draw_page(room.code, strokes())
    del at.query_params["drawing"]  # drawn by hand: only the canvas holds it
    said = prediction(at.run())
    at.button(key="send").click()
    lost_session(at)
    assert not at.exception and "Sent to the wall" in at.toast[0].value
    _, rnd, shown = draw_db.wall(room.code)
    assert rnd.tally.sent == 1 and shown[0].strokes == strokes() and str(shown[0].reading.prediction) == said[0]
    assert prediction(at) == said and at.button(key="send").label == "Sent" and at.button(key="send").disabled
    at.run()
    assert draw_db.wall(room.code)[1].tally.sent == 1  # sent once


def test_a_drawing_made_for_an_earlier_prompt_waits_for_a_second_press(draw_db):
    room, key = draw_db.open_room(7)
    at = draw_page(room.code, strokes())  # drawn while the room asks for a 7
    said = prediction(at)
    draw_db.next_round(room.code, key, 3)  # the lecturer moves on before the phone sends
    at.button(key="send").click().run()
    assert not at.exception and f"Room {room.code} · draw a 3" in html(at)
    assert any(w.value.startswith(f"Not sent: Room {room.code} now asks for a 3 (round 2); your drawing was made "
                                  "when it asked for a 7.") and "Press Send to the wall again" in w.value
               for w in at.warning)
    assert draw_db.wall(room.code)[1].tally.sent == 0 and prediction(at) == said
    at.button(key="send").click().run()  # pressed again, knowing: it goes to the round on now
    assert not at.exception and "Sent to the wall" in at.toast[0].value
    _, rnd, shown = draw_db.wall(room.code)
    assert rnd.number == 2 and rnd.tally.sent == 1 and shown[0].prompt == 3


def test_the_wall_gets_a_reading_never_the_visitors_own_label(draw_db):
    room, _ = draw_db.open_room(3)
    at = draw_page(room.code, strokes(7))
    assert prediction(at) == ["7"]
    fix(at, 3).click().run()  # "Not a 7? It's a 3": the page now reads it as tapped
    assert prediction(at) == ["3"]
    at.button(key="send").click().run()
    assert not at.exception and at.toast[0].value.endswith("read as 7, as it was read before your correction.")
    shown = draw_db.wall(room.code)[2]
    assert shown[0].reading.prediction == 7 and shown[0].right is False  # no ✓ the references did not give
    assert prediction(at) == ["3"]  # the page still reads it the visitor's way


def test_a_join_link_to_no_room_still_draws(draw_db):
    at = draw_page("WXYA", strokes())
    assert not at.exception and any("There is no room WXYA" in w.value for w in at.warning)
    assert prediction(at) == ["7"] and not [b for b in at.button if b.key == "send"]


def test_a_wall_out_of_reach_keeps_the_drawing(draw_db, monkeypatch):
    from ui import rooms

    room, _ = draw_db.open_room(7)
    monkeypatch.setenv("KNN_ROOM_DB", "postgresql://knn:knn@127.0.0.1:1/none")  # the database goes away
    rooms.store.clear()
    at = draw_page(room.code, strokes())
    assert not at.exception and any("cannot be reached" in w.value for w in at.warning)
    said = prediction(at)
    assert said == ["7"] and not at.button(key="send").disabled  # it still answers, and Send can try again
    at.button(key="send").click().run()
    assert not at.exception and any(w.value.startswith("Not sent: The wall cannot be reached") and
                                    "Your drawing is still here" in w.value for w in at.warning)
    assert prediction(at) == said and at.button(key="send").label == "Send to the wall"


def test_digits_taught_to_the_room_are_everyones_neighbours(draw_db):
    from room.store import Reading

    room, key = draw_db.open_room(3)
    taught = draw_db.send(room.code, "phone-teacher", strokes(7), Reading(7, (7,), False, 0.9), b"")
    draw_db.teach(room.code, key, [taught.id])  # the lecturer: this drawing is a 3
    at = draw_page(room.code, strokes(7))
    assert not at.exception
    nearest = [c for c in captions(at) if "☆ room" in c]
    assert nearest and nearest[0].startswith("3") and nearest[0].endswith("· 0")  # the same drawing, at distance 0
    assert any(c.value.endswith("but here the room's taught digits (☆) voted, and the link does not carry them: "
                                "whoever opens it may be given another answer.") for c in at.caption)  # it names no room
    outside = AppTest.from_file(APP, default_timeout=600)
    outside.query_params["drawing"] = strokes(7)
    outside.run()
    assert not [c for c in captions(outside) if "☆" in c]  # only that room's visitors search it


def opened_from_wall(code, drawing) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=600)
    at.query_params["drawing"] = drawing
    at.query_params["wall"] = code
    return at.run()


def test_a_drawing_opened_from_the_wall_is_read_as_the_rooms_phones_read_it(draw_db):
    from room.store import Reading

    room, key = draw_db.open_room(3)
    taught = draw_db.send(room.code, "phone-teacher", strokes(7), Reading(7, (7,), False, 0.9), b"")
    draw_db.teach(room.code, key, [taught.id])
    on_a_phone = prediction(draw_page(room.code, strokes(7)))
    at = opened_from_wall(room.code, strokes(7))  # the lecturer clicks the drawing on the wall
    assert not at.exception and prediction(at) == on_a_phone
    assert [c for c in captions(at) if "☆ room" in c]  # the room's taught digit among its neighbours
    assert any(c.value.startswith(f"Opened from the wall of room {room.code}, which shows it as “7 ✗ ☆”, as the "
                                  "sender's phone read it. Here it is read as the room's phones read it now: "
                                  "with the room's taught digits")
               and "Nothing is sent from here." in c.value for c in at.caption)  # the wall's caption, to compare
    assert '<div class="knn-room-banner">' not in html(at) and not [b for b in at.button if b.key == "send"]  # no phone
    assert draw_db.wall(room.code)[1].tally.sent == 1  # only the drawing sent before
    one = draw_db.send(room.code, "phone-visitor-1", strokes(1), Reading(1, (1,), False, 0.8), b"")
    assert any(c.value.startswith(f"Opened from the wall of room {room.code}, which shows it as “1 ✗”,")
               for c in opened_from_wall(room.code, strokes(1)).caption)
    draw_db.hide(room.code, key, one.id)  # off the walls since: the room still reads it, no wall caption to show
    hidden = opened_from_wall(room.code, strokes(1))
    assert not hidden.exception and prediction(hidden) == ["1"]
    assert any(c.value.startswith(f"Opened from the wall of room {room.code}. Here it is read as the room's phones")
               for c in hidden.caption)
    gone = opened_from_wall("WXYA", strokes(7))  # a wall of no room: read as anywhere else
    assert not gone.exception and prediction(gone) == ["7"] and not [c for c in captions(gone) if "☆" in c]
    assert any(c.value.startswith("Opened from a wall: There is no room WXYA") for c in gone.caption)

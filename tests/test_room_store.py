"""The rooms' store (room/store.py) on SQLite and on PostgreSQL: sends, limits, moderation, expiry, replicas."""

import sqlite3
import threading

import numpy as np
import pytest

from knn.sketch import Sketch, pack
from room import report
from room.limits import CODE_LETTERS, LIMITS
from room.store import (Closed, Damaged, NoSuchRoom, NotModerator, PromptChanged, Reading, RoomError, Store, TooFast,
                        TooMany, Unreachable, drawings, rooms)

STROKES = pack(Sketch((280, 280), (np.array([[60.0, 40.0], [200.0, 40.0], [120.0, 250.0]]),), (18.0,)))
FOUR, NINE, ODD = Reading(4, (4,), False, 0.6), Reading(9, (4, 9), False, 0.3), Reading(1, (), True, 0.0)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, t: float = 1_800_000_000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def store(room_db, clock):
    s = Store(room_db, clock=clock)
    yield s
    s.dispose()


def other_than(key: str) -> str:
    """The key with its last character changed."""
    return key[:-1] + ("a" if key[-1] != "a" else "b")


def send(store, clock, code, visitor, reading=FOUR, strokes=STROKES, seen=None):
    clock.t += LIMITS.send_every_s  # one send every 2 s per visitor: allowed
    return store.send(code, visitor, strokes, reading, b"\x89PNG thumbnail", seen=seen)


def test_a_room_has_a_readable_code_and_a_secret_key_kept_only_as_its_hash(store):
    room, key = store.open_room(4)
    assert len(room.code) == 4 and set(room.code) <= set(CODE_LETTERS)
    assert len(key) >= 22  # at least 128 random bits, URL-safe
    assert room.banner() == f"Room {room.code} · draw a 4"
    with store.engine.connect() as c:
        stored = [tuple(r) for r in c.execute(rooms.select())]
    assert not any(key in map(str, row) for row in stored)  # the key itself is nowhere in the database
    assert store.is_moderator(room.code, key) and not store.is_moderator(room.code, other_than(key))
    assert store.room(room.code.lower()).code == room.code  # typed in lower case: the same room


def test_sends_reach_the_wall_with_a_tally(store, clock):
    room, _ = store.open_room(4)
    ids = [send(store, clock, room.code, v, r).id for v, r in
           (("phone-one-a", FOUR), ("phone-two-b", NINE), ("phone-three", FOUR), ("phone-four-", ODD))]
    _, rnd, shown = store.wall(room.code)
    assert [d.id for d in shown] == ids[::-1]  # newest first
    assert [d.right for d in shown] == [False, True, False, True]
    assert rnd.tally.sent == 4 and rnd.tally.right == 2 and rnd.tally.not_a_digit == 1
    assert rnd.tally.by_digit[4] == 2 and rnd.tally.by_digit[9] == 1
    assert shown[-1].strokes == STROKES and shown[-1].reading == FOUR and shown[-1].thumbnail.startswith(b"\x89PNG")
    assert [d.id for d in store.wall(room.code, limit=2)[2]] == ids[:1:-1]


def test_a_visitor_is_held_to_the_limits_and_told_why(store, clock):
    room, key = store.open_room(None)
    send(store, clock, room.code, "phone-fast-1")
    with pytest.raises(TooFast, match="wait"):
        store.send(room.code, "phone-fast-1", STROKES, FOUR)  # at once: under 2 s
    store.send(room.code, "phone-other", STROKES, FOUR)  # another phone is not held up
    for _ in range(LIMITS.sends_per_round - 1):
        send(store, clock, room.code, "phone-fast-1")
    with pytest.raises(TooMany, match=str(LIMITS.sends_per_round)):
        send(store, clock, room.code, "phone-fast-1")
    store.next_round(room.code, key, 3)  # a new round: a new allowance
    send(store, clock, room.code, "phone-fast-1")
    store.close_room(room.code, key)
    with pytest.raises(Closed, match="closed"):
        send(store, clock, room.code, "phone-other")
    assert store.wall(room.code)[1].tally.sent == 1  # nothing refused was stored


def test_a_drawing_is_judged_only_against_a_prompt_its_sender_saw(store, clock):
    room, key = store.open_room(4)
    seen = store.room(room.code)  # the phone's page, as the drawing was made
    store.next_round(room.code, key, 7)
    with pytest.raises(PromptChanged, match=r"now asks for a 7 \(round 2\); your drawing was made when it asked "
                                            r"for a 4") as refused:
        send(store, clock, room.code, "phone-late-1", seen=seen)
    now = refused.value.room
    assert (now.round, now.prompt) == (2, 7) and store.wall(room.code)[1].tally.sent == 0
    assert send(store, clock, room.code, "phone-late-1", seen=now).prompt == 7  # sent knowing what is asked
    store.set_prompt(room.code, key, 3)  # the same round, another digit
    with pytest.raises(PromptChanged, match="now asks for a 3"):
        send(store, clock, room.code, "phone-late-1", seen=now)
    threes = store.room(room.code)
    store.next_round(room.code, key, 3)  # a new round asking for the same digit: the drawing still answers it
    assert send(store, clock, room.code, "phone-late-1", seen=threes).round == 3
    assert send(store, clock, room.code, "phone-no-seen").prompt == 3  # a send that says nothing is not checked
    store.next_round(room.code, key, None)  # any digit: whatever it was made for, it answers that
    assert send(store, clock, room.code, "phone-late-1", seen=seen).prompt is None


def test_a_round_whose_prompt_changed_tallies_each_drawing_against_its_own(store, clock):
    room, key = store.open_room(4)
    send(store, clock, room.code, "phone-one-a")  # asked for a 4, read as 4
    send(store, clock, room.code, "phone-two-b", NINE)  # asked for a 4, read as 9
    t = store.wall(room.code)[1].tally
    assert (t.sent, t.right, t.asked, t.prompts) == (2, 1, 2, (4,)) and t.only_asked(4)
    assert t.right_words(4) == "read as 4 (50%)"
    store.set_prompt(room.code, key, 7)
    seven = Reading(7, (7,), False, 0.6)
    send(store, clock, room.code, "phone-three", seven)  # asked for a 7, read as 7
    t = store.wall(room.code)[1].tally
    assert (t.sent, t.right, t.asked, t.prompts) == (3, 2, 3, (4, 7)) and not t.only_asked(7)
    assert t.right_words(7) == "read as asked (67%)"  # not "read as 7": two of them were asked for a 4
    store.set_prompt(room.code, key, None)
    send(store, clock, room.code, "phone-four-", seven)  # asked for any digit: in no share
    t = store.wall(room.code)[1].tally
    assert (t.sent, t.right, t.asked) == (4, 2, 3) and t.right_words(None) == "read as asked (67% of 3 asked)"
    store.next_round(room.code, key, 5)
    t = store.wall(room.code)[1].tally
    assert t.sent == 0 and t.only_asked(5) and t.right_words(5) == "read as 5"
    assert t.right_words(None) is None
    text = report.text(report.export(store, room.code))
    assert "Round 1: draw any digit (4 on the wall, 2 read as asked (67% of 3 asked);" in text


@pytest.mark.parametrize("strokes,reading,thumbnail,says", [
    ("not-a-drawing", FOUR, b"", "damaged"),
    ("A" * 9000, FOUR, b"", "too long"),
    (STROKES, Reading(11, (4,), False, 0.5), b"", "out of range"),
    (STROKES, Reading(4, (4,), False, 1.5), b"", "out of range"),
    (STROKES, FOUR, b"x" * 100_000, "too large"),
])
def test_a_damaged_send_is_refused(store, strokes, reading, thumbnail, says):
    room, _ = store.open_room(4)
    with pytest.raises(Damaged, match=says):
        store.send(room.code, "phone-damaged", strokes, reading, thumbnail)
    assert store.wall(room.code)[1].tally.sent == 0


@pytest.mark.parametrize("code", ["ZZZZ", "KXRT' OR '1'='1", "", None, "K" * 500])
def test_a_code_that_is_no_room_says_so(store, code):
    with pytest.raises(NoSuchRoom):
        store.room(code)
    with pytest.raises(NoSuchRoom):
        store.send(code, "phone-nowhere", STROKES, FOUR)


def test_every_moderator_action_checks_the_key(store, clock):
    room, key = store.open_room(4)
    other, other_key = store.open_room(4)
    d = send(store, clock, room.code, "phone-honest")
    for bad in (None, "", "guess", other_than(key), other_key, 12345):
        for act, args in ((store.set_prompt, (7,)), (store.next_round, (7,)), (store.hide, (d.id,)),
                          (store.close_room, ()), (store.teach, ([d.id],))):
            with pytest.raises(NotModerator):
                act(room.code, bad, *args)
    now, rnd, shown = store.wall(room.code)
    assert (now.round, now.prompt, now.closed) == (1, 4, False) and [x.id for x in shown] == [d.id]
    assert not shown[0].taught and not store.taught(room.code)
    with pytest.raises(RoomError):  # a drawing of another room cannot be hidden through this one
        store.hide(other.code, other_key, d.id)


def test_rounds_hide_and_teach(store, clock):
    room, key = store.open_room(4)
    a = send(store, clock, room.code, "phone-one-a")
    b = send(store, clock, room.code, "phone-two-b", NINE)
    store.hide(room.code, key, a.id)
    _, rnd, shown = store.wall(room.code)
    assert [d.id for d in shown] == [b.id] and rnd.tally.sent == 1  # gone from the wall and the tally
    assert store.teach(room.code, key, [b.id]) == 1
    assert store.taught(room.code) == [(b.id, 4, STROKES)]  # labelled with the digit its round asked for
    store.set_prompt(room.code, key, 5)  # a drawing keeps the prompt it was sent under
    assert store.wall(room.code)[2][0].prompt == 4 and store.room(room.code).prompt == 5
    store.next_round(room.code, key, None)
    c = send(store, clock, room.code, "phone-one-a")
    with pytest.raises(RoomError, match="free round"):
        store.teach(room.code, key, [c.id])
    listed = store.rounds(room.code)
    assert [(r.number, r.prompt, r.tally.sent) for r in listed] == [(1, 5, 1), (2, None, 1)]
    assert [d.id for d in store.wall(room.code, 1)[2]] == [b.id]  # the earlier round, still browsable
    assert store.wall(room.code)[2][0].right is None
    store.teach(room.code, key, [b.id], taught=False)
    assert store.taught(room.code) == []


def test_a_hidden_drawing_is_taught_to_nobody(store, clock):
    room, key = store.open_room(4)
    a = send(store, clock, room.code, "phone-one-a")
    store.teach(room.code, key, [a.id])
    store.hide(room.code, key, a.id)  # taught, then found unfit for the wall: out of every search too
    assert store.taught(room.code) == []
    assert [(d.hidden, d.taught) for d in store.drawings(room.code)] == [(True, False)]
    with pytest.raises(RoomError, match="hidden drawing"):
        store.teach(room.code, key, [a.id])
    store.hide(room.code, key, a.id, hidden=False)  # put back on the walls, untaught until taught again
    assert [d.id for d in store.wall(room.code)[2]] == [a.id] and store.taught(room.code) == []
    assert store.teach(room.code, key, [a.id]) == 1 and store.taught(room.code) == [(a.id, 4, STROKES)]


def test_a_drawing_opened_from_a_wall_is_found_with_its_caption(store, clock):
    room, key = store.open_room(4)
    other = pack(Sketch((280, 280), (np.array([[140.0, 30.0], [140.0, 250.0]]),), (18.0,)))
    a = send(store, clock, room.code, "phone-one-a", NINE)
    b = send(store, clock, room.code, "phone-two-b", FOUR)  # the same strokes from another phone, read otherwise
    send(store, clock, room.code, "phone-one-a", FOUR, strokes=other)
    assert store.shown(room.code, STROKES) == (store.room(room.code), store.wall(room.code)[2][1])  # the newest
    assert store.shown(room.code, STROKES)[1].id == b.id and store.shown(room.code, STROKES)[1].caption() == "4 ✓"
    store.teach(room.code, key, [b.id])
    assert store.shown(room.code, STROKES)[1].caption() == "4 ✓ ☆"
    store.hide(room.code, key, b.id)  # off the walls: the other one with these strokes is what the walls show
    assert store.shown(room.code, STROKES)[1].id == a.id and store.shown(room.code, STROKES)[1].caption() == "9 ✗"
    store.hide(room.code, key, a.id)
    assert store.shown(room.code, STROKES) == (store.room(room.code), None)
    store.next_round(room.code, key, None)
    c = send(store, clock, room.code, "phone-one-a", ODD)
    assert store.shown(room.code, STROKES)[1] == c and c.caption() == "not a digit"  # a free round: no ✓ or ✗
    with pytest.raises(NoSuchRoom):
        store.shown("WXYA", STROKES)


def test_a_room_expires_with_its_drawings(store, clock):
    room, key = store.open_room(4)
    send(store, clock, room.code, "phone-late")
    clock.t += LIMITS.expire_after_s - 10
    assert store.room(room.code)  # active ten seconds ago, within a day: still there
    clock.t += 20
    with pytest.raises(NoSuchRoom, match="a day"):
        store.room(room.code)
    store.open_room(1)  # opening a room clears the expired ones
    with store.engine.connect() as c:
        left = c.execute(drawings.select().where(drawings.c.room == room.code)).all()
    assert left == []


def test_two_replicas_share_one_wall_and_lose_nothing(room_db, clock):
    """Two stores on one database (two replicas), eight threads sending at once: every send lands once."""
    a, b = Store(room_db), Store(room_db)
    room, _ = a.open_room(4)
    got, refused = [], []

    def phone(j):
        store = (a, b)[j % 2]
        for n in range(5):
            try:
                got.append(store.send(room.code, f"phone-{j:02d}-{n}", STROKES, FOUR).id)
            except RoomError as e:
                refused.append(e)

    threads = [threading.Thread(target=phone, args=(j,)) for j in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not refused and len(got) == 40
    for s in (a, b):
        shown = s.wall(room.code, limit=None)[2]
        assert sorted(d.id for d in shown) == sorted(got)
    a.dispose()
    b.dispose()


@pytest.mark.unit
def test_a_locked_or_missing_database_is_unreachable_not_a_crash(tmp_path):
    path = tmp_path / "rooms.sqlite"
    store = Store(f"sqlite:///{path}")
    room, _ = store.open_room(4)
    lock = sqlite3.connect(path, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")  # another process holds the file
    try:
        with pytest.raises(Unreachable, match="cannot be reached"):
            store.send(room.code, "phone-locked", STROKES, FOUR)
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    assert store.send(room.code, "phone-locked", STROKES, FOUR).id  # unlocked: it goes through
    for url in ("postgresql://knn:knn@127.0.0.1:1/none", "nonsense://", "sqlite:////proc/no/such/dir/rooms.sqlite"):
        with pytest.raises(Unreachable):
            Store(url).room(room.code)


def test_the_export_holds_every_round_and_a_confusion_table(store, clock, capsys):
    from room.__main__ import main

    room, key = store.open_room(4)
    send(store, clock, room.code, "phone-one-a")
    send(store, clock, room.code, "phone-two-b", NINE)
    hidden = send(store, clock, room.code, "phone-three", ODD)
    store.hide(room.code, key, hidden.id)
    store.next_round(room.code, key, 7)
    send(store, clock, room.code, "phone-one-a", ODD)
    out = report.export(store, room.code)
    assert [r["tally"]["sent"] for r in out["rounds"]] == [2, 1]
    assert [len(r["drawings"]) for r in out["rounds"]] == [3, 1]  # hidden drawings are in the export, marked
    assert out["rounds"][0]["drawings"][2]["hidden"] is True
    assert out["confusion"]["counts"] == {"4": [0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0], "7": [0] * 10 + [1]}
    text = report.text(out)
    assert f"Room {room.code}" in text and "Round 2: draw a 7" in text and "✗" in text
    assert main(["export", room.code, "--db", str(store.url.render_as_string(hide_password=False))]) == 0
    assert "Round 1: draw a 4" in capsys.readouterr().out
    assert main(["export", "WXYA", "--db", str(store.url.render_as_string(hide_password=False))]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: There is no room WXYA")
    assert main(["export", room.code, "--db", "nonsense://"]) == 1  # a setting it cannot use: one line, too
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: The rooms' database setting cannot be used")

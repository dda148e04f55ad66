"""Rooms, their rounds and the drawings sent to their walls, kept in SQL through SQLAlchemy Core.

One :class:`Store` per process talks to one database: a SQLite file by
default (``$KNN_CACHE/rooms.sqlite``, in WAL mode, so every replica on one
machine shares it) or PostgreSQL when ``KNN_ROOM_DB`` names one
(``postgresql://user:password@host/db``), for replicas on several machines.
The schema is made on first use. Every statement is built by SQLAlchemy
with bound parameters.

A room has a short code anyone may read off the projector and a moderator
key that only the lecturer's link holds; the store keeps only the key's
SHA-256 and checks it for every moderator action. A visitor's send is
checked here, on the server, against :data:`room.limits.LIMITS`; a refusal
is a :class:`RoomError` whose message is meant for the visitor. A database
that cannot be reached or stays locked is :class:`Unreachable`, never a
traceback. Rooms expire ``expire_after_s`` after their last send or action,
with their rounds and drawings.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import os
import secrets
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Optional

import sqlalchemy as sa
from sqlalchemy import exc

from knn.sketch import LinkError, unpack
from room.limits import CODE_LENGTH, CODE_LETTERS, KEY_BYTES, LIMITS, Limits

log = logging.getLogger("room.store")

meta = sa.MetaData()
rooms = sa.Table(
    "knn_rooms", meta,
    sa.Column("code", sa.String(8), primary_key=True),
    sa.Column("key_hash", sa.String(64), nullable=False),
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("active", sa.Float, nullable=False, index=True),  # the last send or action: rooms expire from it
    sa.Column("round", sa.Integer, nullable=False),
    sa.Column("closed", sa.Boolean, nullable=False),
)
rounds = sa.Table(
    "knn_rounds", meta,
    sa.Column("room", sa.String(8), sa.ForeignKey("knn_rooms.code", ondelete="CASCADE"), primary_key=True),
    sa.Column("number", sa.Integer, primary_key=True),
    sa.Column("prompt", sa.Integer),  # the digit asked for; NULL: free drawing
    sa.Column("started", sa.Float, nullable=False),
)
drawings = sa.Table(
    "knn_drawings", meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("room", sa.String(8), sa.ForeignKey("knn_rooms.code", ondelete="CASCADE"), nullable=False),
    sa.Column("round", sa.Integer, nullable=False),
    sa.Column("prompt", sa.Integer),  # what the visitor was asked to draw when they sent it
    sa.Column("sent", sa.Float, nullable=False),
    sa.Column("visitor", sa.String(64), nullable=False),  # a random token of the browser session: no name, no address
    sa.Column("strokes", sa.Text, nullable=False),  # the drawing as a share link packs it (knn.sketch.pack)
    sa.Column("prediction", sa.Integer, nullable=False),
    sa.Column("prediction_set", sa.String(24), nullable=False),  # "4,9": the digits of the set, at the page's level
    sa.Column("not_a_digit", sa.Boolean, nullable=False),
    sa.Column("credibility", sa.Float, nullable=False),
    sa.Column("thumbnail", sa.LargeBinary, nullable=False),  # PNG, as the wall shows it
    sa.Column("hidden", sa.Boolean, nullable=False, default=False),
    sa.Column("taught", sa.Boolean, nullable=False, default=False),
    sa.Index("knn_drawings_wall", "room", "round", "id"),
    sa.Index("knn_drawings_visitor", "room", "visitor", "sent"),
)


class RoomError(Exception):
    """A refusal, with a message for the person who asked."""


class NoSuchRoom(RoomError):
    pass


class Closed(RoomError):
    pass


class NotModerator(RoomError):
    pass


class TooFast(RoomError):
    pass


class TooMany(RoomError):
    pass


class Damaged(RoomError):
    pass


class PromptChanged(RoomError):
    """The room asks for another digit than it did when the drawing was made; ``room`` is the room as it is now."""

    def __init__(self, message: str, room: "Room"):
        super().__init__(message)
        self.room = room


class Unreachable(RoomError):
    """The database could not be reached, or stayed locked: nothing was stored or changed."""


@dataclass(frozen=True)
class Reading:
    """What the page answered for a drawing, as the wall shows it."""

    prediction: int
    prediction_set: tuple  # the digits of the answer's set at the page's level, ascending
    not_a_digit: bool
    credibility: float

    def check(self) -> "Reading":
        digits = range(10)
        if self.prediction not in digits or any(d not in digits for d in self.prediction_set) \
                or not 0.0 <= self.credibility <= 1.0:
            raise Damaged("This answer cannot be sent: its prediction, set or credibility is out of range.")
        return self

    def words(self) -> str:
        """How a wall captions it: "4", or "not a digit"."""
        return "not a digit" if self.not_a_digit else str(self.prediction)


def prompt_words(prompt: Optional[int]) -> str:
    """What a round asks for, in words: "a 4", or "any digit" (``None``)."""
    return "any digit" if prompt is None else f"a {prompt}"


@dataclass(frozen=True)
class Room:
    code: str
    round: int
    prompt: Optional[int]  # the current round's digit; None: free drawing
    closed: bool
    created: float
    active: float

    def banner(self) -> str:
        """"Room KXRT · draw a 4" (or "draw any digit")."""
        return f"Room {self.code} · draw {prompt_words(self.prompt)}"


@dataclass(frozen=True)
class Drawing:
    id: int
    round: int
    prompt: Optional[int]
    sent: float
    strokes: str
    reading: Reading
    thumbnail: bytes
    hidden: bool
    taught: bool

    @property
    def right(self) -> Optional[bool]:
        """Whether it was read as the digit asked for; None in a free round."""
        if self.prompt is None:
            return None
        return not self.reading.not_a_digit and self.reading.prediction == self.prompt

    def caption(self) -> str:
        """How a wall captions it: its reading, ✓ or ✗ against its prompt, ☆ if taught ("7 ✓ ☆")."""
        mark = {None: "", True: " ✓", False: " ✗"}[self.right]
        return self.reading.words() + mark + (" ☆" if self.taught else "")


@dataclass(frozen=True)
class Tally:
    """A round's drawings on the wall (hidden ones are not counted)."""

    sent: int
    right: int  # read as the digit its sender was asked for
    asked: int  # sent while the round asked for a digit (the others: while it asked for any)
    prompts: tuple  # the digits those were asked for, ascending (more than one if the prompt changed)
    by_digit: tuple  # (10,) read as each digit (not counting "not a digit")
    not_a_digit: int

    def only_asked(self, prompt: Optional[int]) -> bool:
        """Whether every drawing counted was sent while the round asked for ``prompt`` (a digit)."""
        return prompt is not None and self.asked == self.sent and set(self.prompts) <= {prompt}

    def right_words(self, prompt: Optional[int]) -> Optional[str]:
        """What follows the count of right readings, for a round now asking for ``prompt``: "read as 4 (67%)";
        "read as asked (…)" once its drawings were sent under another prompt, each judged against its own;
        None where nothing was or is asked for."""
        if not self.asked:
            return None if prompt is None else f"read as {prompt}"
        what = f"read as {prompt}" if prompt is not None and set(self.prompts) == {prompt} else "read as asked"
        share = f"{self.right / self.asked:.0%}"
        return f"{what} ({share})" if self.asked == self.sent else f"{what} ({share} of {self.asked} asked)"


@dataclass(frozen=True)
class Round:
    number: int
    prompt: Optional[int]
    started: float
    tally: Tally


def database_url() -> str:
    """``$KNN_ROOM_DB``, else a SQLite file ``rooms.sqlite`` in the app's cache folder."""
    from knn.cache import folder

    return os.environ.get("KNN_ROOM_DB") or f"sqlite:///{folder() / 'rooms.sqlite'}"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()


def new_code() -> str:
    return "".join(secrets.choice(CODE_LETTERS) for _ in range(CODE_LENGTH))


def normal_code(code) -> str:
    """A code as typed ("kxrt ", "K X R T") -> "KXRT"; "" if it cannot be one."""
    text = "".join(str(code or "").split()).upper()
    return text if len(text) == CODE_LENGTH and all(c in CODE_LETTERS for c in text) else ""


def _digit(value, name: str) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 9:
        raise ValueError(f"{name} must be a digit from 0 to 9 or None; got {value!r}")
    return value


def _reachable(method):
    """Turn a database that cannot be reached or stays locked into :class:`Unreachable`."""
    @functools.wraps(method)
    def wrapped(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except (exc.OperationalError, exc.InterfaceError, exc.TimeoutError) as e:
            log.warning("rooms' database: %s failed: %s", method.__name__, str(e).splitlines()[0])
            raise Unreachable("The wall cannot be reached right now (its database did not answer). "
                              "Nothing was lost: try again in a moment.") from e
    return wrapped


class Store:
    """The rooms of one database; safe to share between threads and processes."""

    def __init__(self, url: Optional[str] = None, limits: Limits = LIMITS, clock: Callable[[], float] = time.time):
        self.limits, self.clock = limits, clock
        try:
            self.url = sa.engine.make_url(url or database_url())
            self.engine = self._engine()
        except (exc.ArgumentError, exc.NoSuchModuleError, ImportError, ValueError, OSError) as e:
            raise Unreachable(f"The rooms' database setting cannot be used ({type(e).__name__}: {e}). "
                              "Set KNN_ROOM_DB to sqlite:///FILE or postgresql://USER:PASSWORD@HOST/DB.") from None
        self._made = False

    def _engine(self) -> sa.Engine:
        if self.url.get_backend_name() == "sqlite":
            if self.url.database and self.url.database != ":memory:":
                Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)
            engine = sa.create_engine(self.url, connect_args={"timeout": self.limits.busy_timeout_s,
                                                              "check_same_thread": False})
            sa.event.listen(engine, "connect", _sqlite_connect)
            sa.event.listen(engine, "begin", _sqlite_begin)
            return engine
        wait = self.limits.busy_timeout_s
        args = {"connect_timeout": max(1, round(wait))}
        if self.url.get_backend_name() == "postgresql":  # a statement that waits on a lock gives up, too
            args["options"] = f"-c statement_timeout={int(wait * 1000)} -c lock_timeout={int(wait * 1000)}"
        return sa.create_engine(self.url, pool_pre_ping=True, pool_size=5, max_overflow=10, pool_timeout=wait,
                                connect_args=args)

    def __repr__(self) -> str:
        return f"Store({self.where!r})"

    @property
    def where(self) -> str:
        """The database in words, password hidden."""
        return self.url.render_as_string(hide_password=True)

    # ---- connections ----

    def _schema(self) -> None:
        if self._made:
            return
        for attempt in range(3):  # two replicas starting at once may race to make the tables
            try:
                meta.create_all(self.engine)
                break
            except (exc.IntegrityError, exc.ProgrammingError, exc.OperationalError):
                if attempt == 2:
                    raise
                time.sleep(0.2)
        self._made = True

    @contextmanager
    def _write(self):
        """A transaction that writes: on SQLite it takes the write lock at its start (BEGIN IMMEDIATE), so two
        replicas never both read and then both try to write."""
        self._schema()
        with self.engine.connect().execution_options(knn_write=True) as c, c.begin():
            yield c

    @contextmanager
    def _read(self):
        self._schema()
        with self.engine.connect() as c, c.begin():
            yield c

    def dispose(self) -> None:
        """Close the store's connections (a process that is done with it)."""
        self.engine.dispose()

    # ---- rooms ----

    def _found(self, c, code: str) -> tuple:
        """(the Room, its key's hash) in one query, the current round's prompt joined in; NoSuchRoom if none."""
        code = normal_code(code)
        if not code:
            raise NoSuchRoom(f"That is not a room code: a room's code is {CODE_LENGTH} of the letters "
                             f"{' '.join(CODE_LETTERS)}, as the projector shows it.")
        now = sa.and_(rounds.c.room == rooms.c.code, rounds.c.number == rooms.c.round)
        row = c.execute(sa.select(rooms, rounds.c.prompt).select_from(rooms.outerjoin(rounds, now))
                        .where(rooms.c.code == code)).first()
        if row is None or row.active < self.clock() - self.limits.expire_after_s:
            raise NoSuchRoom(f"There is no room {code} (a room ends a day after its last drawing): check the code "
                             "on the projector.")
        return Room(code=row.code, round=row.round, prompt=row.prompt, closed=row.closed, created=row.created,
                    active=row.active), row.key_hash

    def _room(self, c, code: str) -> Room:
        return self._found(c, code)[0]

    def _moderate(self, c, code: str, key) -> Room:
        room, stored = self._found(c, code)
        if not isinstance(key, str) or not key or not hmac.compare_digest(stored, hash_key(key)):
            raise NotModerator("Only the lecturer's link can change this room: this link holds no moderator key, "
                               "or another room's.")
        return room

    @_reachable
    def open_room(self, prompt: Optional[int] = None) -> tuple:
        """A new room with its first round: (Room, moderator key). Expired rooms are removed first."""
        prompt = _digit(prompt, "prompt")
        key = secrets.token_urlsafe(KEY_BYTES)
        self.purge()
        for _ in range(20):
            code, now = new_code(), self.clock()
            try:
                with self._write() as c:
                    old = c.execute(sa.select(rooms.c.code).where(rooms.c.code == code)).first()
                    if old is not None:
                        continue
                    c.execute(rooms.insert().values(code=code, key_hash=hash_key(key), created=now, active=now,
                                                    round=1, closed=False))
                    c.execute(rounds.insert().values(room=code, number=1, prompt=prompt, started=now))
                return Room(code, 1, prompt, False, now, now), key
            except exc.IntegrityError:  # another process took the same code at the same moment
                continue
        raise RoomError("No free room code was found: try again.")

    @_reachable
    def room(self, code: str) -> Room:
        """The room as it is now; NoSuchRoom if there is none (or it expired)."""
        with self._read() as c:
            return self._room(c, code)

    @_reachable
    def is_moderator(self, code: str, key) -> bool:
        """Whether ``key`` is the room's moderator key (checked, never shown)."""
        with self._read() as c:
            try:
                self._moderate(c, code, key)
                return True
            except NotModerator:
                return False

    @_reachable
    def purge(self) -> int:
        """Remove the rooms that expired, with their rounds and drawings; how many rooms went."""
        before = self.clock() - self.limits.expire_after_s
        with self._write() as c:
            gone = [r for (r,) in c.execute(sa.select(rooms.c.code).where(rooms.c.active < before))]
            if gone:
                c.execute(drawings.delete().where(drawings.c.room.in_(gone)))
                c.execute(rounds.delete().where(rounds.c.room.in_(gone)))
                c.execute(rooms.delete().where(rooms.c.code.in_(gone)))
        return len(gone)

    # ---- a visitor's send ----

    @_reachable
    def send(self, code: str, visitor: str, strokes: str, reading: Reading, thumbnail: bytes = b"",
             seen: Optional[Room] = None) -> Drawing:
        """Put a drawing on the room's wall; the Drawing stored, or a RoomError that says why not.

        ``strokes`` is the drawing as a share link packs it, read back here by
        the same :func:`knn.sketch.unpack` before anything is stored;
        ``visitor`` a random token of the sender's browser session (the
        limits are counted per visitor); ``seen`` the room as the sender's
        page showed it when the drawing was made. A drawing is judged against
        the prompt of the round it lands in, so one made while the room asked
        for another digit is refused (:class:`PromptChanged`) unless the room
        now asks for any digit.
        """
        try:
            unpack(strokes)
        except LinkError as e:
            raise Damaged(f"This drawing cannot be sent: {e}") from None
        reading = Reading(int(reading.prediction), tuple(sorted(int(d) for d in reading.prediction_set)),
                          bool(reading.not_a_digit), float(reading.credibility)).check()
        if not isinstance(visitor, str) or not 8 <= len(visitor) <= 64:
            raise Damaged("This drawing cannot be sent: the page did not say which visitor sent it.")
        if not isinstance(thumbnail, bytes) or len(thumbnail) > self.limits.thumbnail_bytes:
            raise Damaged("This drawing cannot be sent: its picture is too large.")
        lim = self.limits
        with self._write() as c:
            room = self._room(c, code)
            if room.closed:
                raise Closed(f"Room {room.code} is closed: the lecturer is no longer taking drawings.")
            if seen is not None and room.prompt is not None and room.prompt != seen.prompt:
                raise PromptChanged(f"Room {room.code} now asks for {prompt_words(room.prompt)} (round "
                                    f"{room.round}); your drawing was made when it asked for "
                                    f"{prompt_words(seen.prompt)}.", room)
            now = self.clock()
            mine = sa.and_(drawings.c.room == room.code, drawings.c.visitor == visitor)
            last = c.execute(sa.select(sa.func.max(drawings.c.sent)).where(mine)).scalar()
            if last is not None and now - last < lim.send_every_s:
                raise TooFast(f"Sent a moment ago: wait {lim.send_every_s - (now - last):.0f} s before the next "
                              f"(one drawing every {lim.send_every_s:g} s).")
            count = c.execute(sa.select(sa.func.count()).where(mine, drawings.c.round == room.round)).scalar()
            if count >= lim.sends_per_round:
                raise TooMany(f"You have sent {lim.sends_per_round} drawings this round, the most one phone may: "
                              "wait for the next round.")
            values = dict(room=room.code, round=room.round, prompt=room.prompt, sent=now, visitor=visitor,
                          strokes=strokes, prediction=reading.prediction,
                          prediction_set=",".join(map(str, reading.prediction_set)),
                          not_a_digit=reading.not_a_digit, credibility=reading.credibility, thumbnail=thumbnail,
                          hidden=False, taught=False)
            new = c.execute(drawings.insert().values(**values)).inserted_primary_key[0]
            self._touch(c, room)
        return Drawing(int(new), room.round, room.prompt, now, strokes, reading, thumbnail, False, False)

    # ---- the wall ----

    @_reachable
    def wall(self, code: str, round: Optional[int] = None, limit: Optional[int] = -1) -> tuple:
        """What a wall shows: (Room, Round, [Drawing] newest first, not hidden).

        ``round``: the current one by default; ``limit``: how many drawings
        (by default the wall's size; None: all of them).
        """
        limit = self.limits.wall_size if limit == -1 else limit
        with self._read() as c:
            room = self._room(c, code)
            number = room.round if round is None else int(round)
            info = c.execute(sa.select(rounds).where(rounds.c.room == room.code, rounds.c.number == number)).first()
            if info is None:
                raise NoSuchRoom(f"Room {room.code} has no round {number}.")
            q = (sa.select(drawings).where(drawings.c.room == room.code, drawings.c.round == number,
                                           sa.not_(drawings.c.hidden)).order_by(drawings.c.id.desc()))
            rows = c.execute(q if limit is None else q.limit(limit)).all()
            tally = self._tally(c, room.code, number)
        return room, Round(number, info.prompt, info.started, tally), [_drawing(r) for r in rows]

    @staticmethod
    def _tally(c, code: str, number: int) -> Tally:
        d = drawings.c
        rows = c.execute(sa.select(d.prediction, d.not_a_digit, d.prompt, sa.func.count())
                         .where(d.room == code, d.round == number, sa.not_(d.hidden))
                         .group_by(d.prediction, d.not_a_digit, d.prompt)).all()
        by_digit = [0] * 10
        sent = n_right = asked = odd = 0
        prompts = set()
        for prediction, not_a_digit, prompt, n in rows:
            sent += n
            if prompt is not None:
                asked += n
                prompts.add(prompt)
                n_right += n if not not_a_digit and prediction == prompt else 0
            if not_a_digit:
                odd += n
            else:
                by_digit[prediction] += n
        return Tally(sent=sent, right=n_right, asked=asked, prompts=tuple(sorted(prompts)), by_digit=tuple(by_digit),
                     not_a_digit=odd)

    @_reachable
    def shown(self, code: str, strokes: str) -> tuple:
        """A drawing opened from a wall: (the Room, the newest Drawing on its walls with these strokes, or None if
        none is, as when it was hidden since)."""
        with self._read() as c:
            room = self._room(c, code)
            d = drawings.c
            row = c.execute(sa.select(drawings).where(d.room == room.code, d.strokes == strokes, sa.not_(d.hidden))
                            .order_by(d.id.desc()).limit(1)).first()
        return room, None if row is None else _drawing(row)

    @_reachable
    def rounds(self, code: str) -> list:
        """Every round of the room, first first, each with its tally."""
        with self._read() as c:
            room = self._room(c, code)
            rows = c.execute(sa.select(rounds).where(rounds.c.room == room.code).order_by(rounds.c.number)).all()
            return [Round(r.number, r.prompt, r.started, self._tally(c, room.code, r.number)) for r in rows]

    @_reachable
    def taught(self, code: str) -> list:
        """The drawings the lecturer taught the room, oldest first: [(id, label, strokes)]."""
        with self._read() as c:
            room = self._room(c, code)
            d = drawings.c
            rows = c.execute(sa.select(d.id, d.prompt, d.strokes).where(d.room == room.code, d.taught,
                                                                         sa.not_(d.hidden)).order_by(d.id)).all()
        return [(int(i), int(p), s) for i, p, s in rows]

    @_reachable
    def drawings(self, code: str) -> list:
        """Every drawing of the room, hidden ones too, oldest first (for the lecturer's export)."""
        with self._read() as c:
            room = self._room(c, code)
            rows = c.execute(sa.select(drawings).where(drawings.c.room == room.code).order_by(drawings.c.id)).all()
        return [_drawing(r) for r in rows]

    # ---- the moderator's actions: each checks the key ----

    @_reachable
    def set_prompt(self, code: str, key, prompt: Optional[int]) -> Room:
        """Change what the current round asks for (drawings sent before keep the prompt they were sent under)."""
        prompt = _digit(prompt, "prompt")
        with self._write() as c:
            room = self._moderate(c, code, key)
            c.execute(rounds.update().where(rounds.c.room == room.code, rounds.c.number == room.round)
                      .values(prompt=prompt))
            self._touch(c, room)
            return self._room(c, room.code)

    @_reachable
    def next_round(self, code: str, key, prompt: Optional[int]) -> Room:
        """Start a new round (the earlier ones stay, with their drawings and tallies)."""
        prompt = _digit(prompt, "prompt")
        with self._write() as c:
            room = self._moderate(c, code, key)
            number = room.round + 1
            c.execute(rounds.insert().values(room=room.code, number=number, prompt=prompt, started=self.clock()))
            self._touch(c, room, round=number)
            return self._room(c, room.code)

    @_reachable
    def hide(self, code: str, key, drawing: int, hidden: bool = True) -> None:
        """Take a drawing off every wall and out of the room's references, if it was taught (or put it back on
        the walls, untaught); it stays in the export, marked hidden."""
        with self._write() as c:
            room = self._moderate(c, code, key)
            also = {"taught": False} if hidden else {}
            done = c.execute(drawings.update().where(drawings.c.room == room.code, drawings.c.id == int(drawing))
                             .values(hidden=bool(hidden), **also)).rowcount
            if not done:
                raise RoomError(f"Room {room.code} has no drawing {drawing}.")
            self._touch(c, room)

    @_reachable
    def close_room(self, code: str, key, closed: bool = True) -> Room:
        """Close the room to new drawings (or open it again); the wall and the export stay."""
        with self._write() as c:
            room = self._moderate(c, code, key)
            self._touch(c, room, closed=bool(closed))
            return self._room(c, room.code)

    @_reachable
    def teach(self, code: str, key, ids: Iterable[int], taught: bool = True) -> int:
        """Make wall drawings references for everyone in the room, labelled with the digit their round asked
        for (or stop); how many changed. Drawings of free rounds cannot be taught: they have no label."""
        ids = sorted({int(i) for i in ids})
        with self._write() as c:
            room = self._moderate(c, code, key)
            if not ids:
                return 0
            d = drawings.c
            mine = sa.and_(d.room == room.code, d.id.in_(ids))
            if taught:
                if c.execute(sa.select(sa.func.count()).where(mine, d.prompt.is_(None))).scalar():
                    raise RoomError("A drawing from a free round has no digit to be taught as: "
                                    "teach drawings of a round that asked for a digit.")
                if c.execute(sa.select(sa.func.count()).where(mine, d.hidden)).scalar():
                    raise RoomError("A hidden drawing is off every wall: it cannot be taught to the room.")
                already = c.execute(sa.select(sa.func.count()).where(d.room == room.code, d.taught,
                                                                     sa.not_(d.id.in_(ids)))).scalar()
                if already + len(ids) > self.limits.teach_per_room:
                    raise RoomError(f"A room holds at most {self.limits.teach_per_room} taught drawings.")
            done = c.execute(drawings.update().where(mine).values(taught=bool(taught))).rowcount
            self._touch(c, room)
        return int(done)

    def _touch(self, c, room: Room, **also) -> None:
        """Mark the room active now (it expires from then), changing ``also`` its other columns so named."""
        c.execute(rooms.update().where(rooms.c.code == room.code).values(active=self.clock(), **also))


def _drawing(r) -> Drawing:
    digits = tuple(int(x) for x in r.prediction_set.split(",") if x)
    return Drawing(id=int(r.id), round=int(r.round), prompt=r.prompt, sent=float(r.sent), strokes=r.strokes,
                   reading=Reading(int(r.prediction), digits, bool(r.not_a_digit), float(r.credibility)),
                   thumbnail=bytes(r.thumbnail), hidden=bool(r.hidden), taught=bool(r.taught))


def _sqlite_connect(dbapi, _record) -> None:
    """Each SQLite connection: write-ahead log (readers never wait for the writer), foreign keys on, and the
    transactions begun by :func:`_sqlite_begin` rather than by the driver."""
    dbapi.isolation_level = None
    cur = dbapi.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _sqlite_begin(conn) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("knn_write") else "BEGIN")

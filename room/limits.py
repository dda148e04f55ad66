"""Every limit of a room, in one place: how fast and how much a visitor may send, how long a room lives."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """What a room allows. The store checks each one on the server, for every send and every action."""

    send_every_s: float = 2.0  # a visitor's sends to one room: at most one per this many seconds
    sends_per_round: int = 20  # a visitor's sends in one round of a room
    expire_after_s: float = 24 * 3600  # a room, its rounds and drawings are gone this long after its last activity
    wall_size: int = 60  # the newest drawings a wall shows at once (the tally counts them all)
    teach_per_room: int = 200  # wall drawings a lecturer may teach as the room's references
    thumbnail_bytes: int = 16_384  # the PNG a wall shows for one drawing
    busy_timeout_s: float = 2.0  # how long a send waits for a locked SQLite file or a slow server before giving up


LIMITS = Limits()

# Room codes: four letters no one mistakes for another letter or a digit when read off a projector
# (no B/8, D/O/0, G/6, I/L/1, Q, S/5, U/V, Z/2).
CODE_LETTERS = "ACEFHJKMNPRTWXY"
CODE_LENGTH = 4
KEY_BYTES = 24  # the moderator key: 192 random bits, URL-safe

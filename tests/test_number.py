"""Several digits in one picture (knn.number): split where the ink leaves gaps, each digit read alone."""

import numpy as np
import pytest

from helpers import synthetic_digit
from knn import references
from knn.answer import answer
from knn.drawn import pen
from knn.number import MAX_DIGITS, TooManyDigits, pieces, read_number, split
from knn.preprocess import NothingDrawn, read_image

pytestmark = pytest.mark.unit


def ink_of(lines, shape=(240, 720), width=14):
    return read_image(pen([np.asarray(line, float) for line in lines], [width] * len(lines), shape))


def test_digits_with_gaps_come_apart_left_to_right():
    one = [[(60, 40), (60, 200)]]
    seven = [[(150, 40), (260, 40), (190, 200)]]
    zero = [[(340 + 40 * np.sin(t), 120 - 80 * np.cos(t)) for t in np.linspace(0, 2 * np.pi, 40)]]
    parts = split(ink_of(one + seven + zero))
    assert [p.box[1] < q.box[1] for p, q in zip(parts, parts[1:])] == [True, True]
    assert len(parts) == 3
    assert all(p.ink.max() > 0.9 for p in parts)
    assert parts[0].box[3] < 100 < parts[1].box[1]  # the 1 alone, the 7 after it


def test_strokes_of_one_digit_stay_together():
    five = [[(100, 100), (90, 150), (140, 150), (150, 190), (90, 200)], [(105, 60), (165, 60)]]  # the flag lifted off
    crossed_seven = [[(250, 40), (340, 40), (280, 200)], [(270, 120), (330, 120)]]  # the bar crosses the stem ...
    assert len(split(ink_of(five))) == 1
    assert len(split(ink_of(crossed_seven))) == 1
    four = [[(450, 40), (420, 140), (500, 140)], [(480, 80), (480, 200)]]  # in two strokes
    assert len(split(ink_of(four))) == 1
    nine_and_dot = [[(600, 60), (640, 60), (640, 200)], [(570, 215), (571, 215)]]  # a stray dot joins its neighbour
    assert len(split(ink_of(nine_and_dot, width=8))) == 1
    assert len(split(ink_of(five + crossed_seven + four))) == 3


def test_no_ink_or_too_many_marks_are_refused():
    with pytest.raises(NothingDrawn):
        split(np.zeros((50, 50), np.float32))
    dashes = [[(20 + 40 * j, 100), (20 + 40 * j, 160)] for j in range(MAX_DIGITS + 1)]
    with pytest.raises(TooManyDigits, match="at most"):
        split(ink_of(dashes, shape=(240, 40 * (MAX_DIGITS + 2)), width=8))


def test_one_digit_is_read_whole(synthetic):
    refs = references.build(synthetic, "none")
    picture = synthetic_digit(3, np.random.default_rng(5))
    parts, inks = pieces(read_image(picture))
    assert len(parts) == 1 and inks[0] is not None
    number = read_number(refs, picture, k=3)
    alone = answer(refs, picture, k=3)
    assert number.digits == str(alone.prediction)
    assert np.array_equal(number.answers[0].query, alone.query)


def test_a_number_is_read_digit_by_digit(synthetic):
    refs = references.build(synthetic, "none")
    rng = np.random.default_rng(11)
    digits = [synthetic_digit(y, rng) for y in (1, 7, 0)]
    row = np.concatenate([np.pad(d, ((0, 0), (20, 20))) for d in digits], axis=1)
    number = read_number(refs, row, k=3)
    assert len(number.answers) == 3 and len(number.digits) == 3
    for a, d in zip(number.answers, digits):
        assert a.prediction == answer(refs, d, k=3).prediction

"""The pages' logic through Streamlit's AppTest: navigation, controls, upload, errors, the empty canvas, one-tap corrections."""

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from helpers import APP, captions, fix, lost_session, non_digit, png_of, prediction, upload


@pytest.fixture
def app():
    """The Draw page once it answers from the full index. Where the references' cache is empty, a fresh server
    answers from a first index while it builds the full one (ui.warmup): these tests are about the page
    then, as the browser tests are (helpers.ready)."""
    from ui import warmup

    warmup.get().wait_full()
    return AppTest.from_file(APP, default_timeout=600).run()


@pytest.fixture(scope="module")
def unsure(mnist):
    """The first MNIST test digit after rows 0 and 1 that the shipped references read right, as a digit,
    though its 25 nearest hold another digit: one the controls can move and a correction can overrule."""
    from knn.answer import answer
    from ui import warmup

    refs = warmup.get().wait_full()  # the page's own references, as the app fixture waits for them
    for row in range(2, len(mnist.test_labels)):
        a = answer(refs, mnist.test_images[row], k=25)
        if (a.prediction == mnist.test_labels[row] and not a.certainty.not_a_digit
                and len({n.label for n in a.neighbours[:25]}) > 1):
            return row
    pytest.fail("no MNIST test digit is both read right and unsure")


def test_empty_canvas_shows_a_prompt(app):
    assert not app.exception
    assert any("Draw a digit" in i.value for i in app.info)
    assert not prediction(app) and not app.error
    assert any(c.value == "References: 60,000 MNIST training digits; 14,988 drawings of real pen digits by 30 writers."
               for c in app.sidebar.caption)


def test_random_test_digit_is_classified(app, mnist):
    app.radio(key="input").set_value("MNIST").run()
    assert not app.exception
    assert len(prediction(app)) == 1
    app.button(key="random").click().run()
    assert not app.exception and len(prediction(app)) == 1


def test_controls_change_the_answer(app, unsure):
    app.radio(key="input").set_value("MNIST").run()
    app.session_state.test_row = unsure
    app.run()
    app.slider(key="k").set_value(25).run()
    assert not app.exception
    assert any("of 25 votes" in str(m.delta) for m in app.metric)
    app.select_slider(key="n_train").set_value(5000).run()
    assert not app.exception and len(prediction(app)) == 1
    app.radio(key="metric").set_value("L2").run()  # on the 5,000: a new index and calibration, but a small one
    assert not app.exception and app.radio(key="metric").value == "L2" and len(prediction(app)) == 1


def test_uploaded_image_is_classified(monkeypatch, app, mnist):
    img = np.kron(255 - mnist.test_images[0], np.ones((10, 10), np.uint8))  # a 7, dark on light, 280x280
    upload(monkeypatch, app, "seven.png", png_of(img))
    assert not app.exception
    assert prediction(app) == ["7"]


def test_bad_upload_shows_a_clear_message(monkeypatch, app):
    upload(monkeypatch, app, "photo.png", b"this is not a png")
    assert not app.exception
    assert any("cannot be read" in e.value for e in app.error)
    upload(monkeypatch, app, "blank.png", png_of(np.full((100, 100), 255, np.uint8)))
    assert not app.exception
    assert any("Nothing drawn" in i.value for i in app.info)
    # the page keeps working
    app.radio(key="input").set_value("MNIST").run()
    assert len(prediction(app)) == 1


def test_missing_data_is_reported(monkeypatch, tmp_path):
    import streamlit as st

    st.cache_resource.clear()  # the loaded data is shared by every AppTest in this process
    monkeypatch.setenv("MNIST_DIR", str(tmp_path / "nowhere"))
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception
    assert any("could not be loaded" in e.value and "nowhere" in e.value for e in at.error)
    st.cache_resource.clear()


def test_without_pen_digits_the_page_says_so_and_works(monkeypatch, tmp_path):
    """Pen digits turned off (as when their file is nowhere and the machine offline): MNIST alone, and the
    sidebar says why in one line."""
    import streamlit as st

    st.cache_resource.clear()
    monkeypatch.setenv("PENDIGITS_DIR", "off")
    at = AppTest.from_file(APP, default_timeout=600)
    at.session_state["n_train"] = 5000  # a small index: this test is about the message
    at.run()
    assert not at.exception and not at.error
    assert any(c.value.startswith("References: 5,000 MNIST training digits. No real pen digits: turned off")
               for c in at.sidebar.caption), [c.value for c in at.sidebar.caption]
    at.radio(key="input").set_value("MNIST").run()
    assert len(prediction(at)) == 1 and not any("writer" in c for c in captions(at))
    st.cache_resource.clear()


def test_one_tap_corrects_the_answer_at_once_and_privately(app, unsure):
    from knn.answer import OWN_RADIUS
    from ui.widgets import a_digit

    app.radio(key="input").set_value("MNIST").run()
    app.session_state.test_row = unsure
    app.run()
    said = int(prediction(app)[0])
    right = (said + 3) % 10  # whatever it says, the visitor says otherwise
    assert not any("yours" in c for c in captions(app))
    assert any(m.value == f"**Not {a_digit(said)}? It's a …**" for m in app.markdown)
    assert fix(app, said).disabled and not fix(app, right).disabled
    assert any(f"the nearest of yours decides whenever it lies within {OWN_RADIUS:g}× the distance of the 7th nearest "
               "shared reference" in c.value for c in app.caption)
    fix(app, right).click().run()
    assert not app.exception
    assert any(f"Taught: that was {a_digit(right)}" in s.value for s in app.success)
    assert prediction(app) == [str(right)]  # read again at once: the visitor's own digit, at distance 0, decides
    assert any(m.value.startswith(f"**Read as {a_digit(right)} by your own {right} (★), the nearest of yours.** By how "
                                  "well it fits real digits, **at 95%: ") for m in app.markdown)  # the set still says
    nearest = [c for c in captions(app) if "·" in c]
    assert nearest[0].startswith(f"{right} · ★ yours · 0")  # the same drawing, distance 0, marked as the visitor's
    app.run()  # still there on the next rerun
    assert prediction(app) == [str(right)] and any("★ yours · 0" in c for c in captions(app))
    assert any(e.label == "Your digits (1)" for e in app.expander)
    # a second visitor (a fresh session) does not see it
    other = AppTest.from_file(APP, default_timeout=600).run()
    other.radio(key="input").set_value("MNIST").run()
    other.session_state.test_row = unsure
    other.run()
    assert prediction(other) == [str(said)] and not any("yours" in c for c in captions(other))
    assert not any(e.label.startswith("Your digits") for e in other.expander)


def test_taught_digits_are_removed_one_by_one_or_all_at_once(app, unsure):
    app.radio(key="input").set_value("MNIST").run()
    taught = []
    for row in (unsure, 0, 1):
        app.session_state.test_row = row
        app.run()
        said = int(prediction(app)[0])
        taught.append((said + 1) % 10)
        fix(app, taught[-1]).click().run()
        assert prediction(app) == [str(taught[-1])]
    assert [item[1] for item in app.session_state["taught"]["learned"]] == taught
    app.button(key="remove-1").click().run()  # the second one, taught on test digit 0
    assert not app.exception
    assert [item[1] for item in app.session_state["taught"]["learned"]] == [taught[0], taught[2]]
    assert any(e.label == "Your digits (2)" for e in app.expander)
    assert prediction(app) == [str(taught[2])]  # the drawing on screen (test digit 1) is still taught
    app.session_state.test_row = 0
    app.run()
    assert prediction(app) != [str(taught[1])] and not any("★ yours · 0" in c for c in captions(app))
    app.button(key="forget").click().run()
    assert not app.exception and app.session_state["taught"] == {}
    assert any("Forgotten" in i.value for i in app.info)
    assert not any(e.label.startswith("Your digits") for e in app.expander)


def test_taught_digits_are_capped(app, monkeypatch, unsure):
    from ui import session

    monkeypatch.setattr(session, "MAX_TAUGHT", 2)
    app.radio(key="input").set_value("MNIST").run()
    for row in (unsure, 0, 1):
        app.session_state.test_row = row
        app.run()
        fix(app, (int(prediction(app)[0]) + 1) % 10).click().run()
    assert not app.exception
    assert any("the most one visitor can" in w.value for w in app.warning)
    assert sum(len(v) for v in app.session_state["taught"].values()) == 2


def test_neighbours_download_as_csv(app):
    app.radio(key="input").set_value("MNIST").run()
    assert len(app.get("download_button")) == 1


def test_compare_learned_features_or_pixels(app):
    """The default compares learned features; pixels bring back the pixel pipelines and their steps.

    On 5,000 training digits (as the tutorial had): the pixel spaces' indexes are built for this test alone.
    """
    app.select_slider(key="n_train").set_value(5000)
    app.radio(key="input").set_value("MNIST").run()
    app.session_state.test_row = 0  # a 7
    app.run()
    assert app.radio(key="family").value == "learned features" and app.slider(key="k").value == 7
    assert prediction(app) == ["7"]
    assert any("128 learned features" in c for c in captions(app))
    assert any("128 features two small CNNs learned" in c.value for c in app.sidebar.caption)
    app.radio(key="family").set_value("pixels").run()
    assert not app.exception and prediction(app) == ["7"]
    assert app.radio(key="pipeline").value == "thicken" and app.slider(key="k").value == 3  # the space's own k
    assert any("deskewed (as the index)" in c for c in captions(app))
    app.radio(key="pipeline").set_value("none").run()
    assert not app.exception and prediction(app) == ["7"]
    assert not any("deskewed" in c for c in captions(app))
    app.radio(key="family").set_value("learned features").run()
    assert app.slider(key="k").value == 7 and prediction(app) == ["7"]


def test_missing_weights_are_reported(monkeypatch, app, tmp_path):
    import streamlit as st

    from knn import learned

    st.cache_resource.clear()
    learned.embedder.cache_clear()
    monkeypatch.setattr(learned, "WEIGHTS_FILE", tmp_path / "missing.npz")
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["n_train"] = 5000  # the pixel index it falls back to, small: this test is about the message
    at.run()
    assert not at.exception
    assert any("learned features are not available" in e.value and "python -m knn train" in e.value for e in at.error)
    at.radio(key="family").set_value("pixels").run()  # the pixel spaces still work
    at.radio(key="input").set_value("MNIST").run()
    assert not at.exception and len(prediction(at)) == 1
    monkeypatch.undo()
    learned.embedder.cache_clear()
    st.cache_resource.clear()


def test_searches_run_on_the_shared_workers(app, monkeypatch):
    """Every visitor's search runs on the process's few worker threads, not in the script's own thread
    (one malloc arena per script thread kept ~250 MB after a crowd; see ui.resources._workers)."""
    import threading

    from knn import answer
    from ui import resources

    seen = []

    def spy(*args, **kwargs):
        seen.append(threading.current_thread().name)
        return real(*args, **kwargs)

    real = answer.answer
    monkeypatch.setattr(answer, "answer", spy)
    app.radio(key="input").set_value("MNIST").run()
    for _ in range(3):
        app.button(key="random").click().run()
    assert not app.exception and len(prediction(app)) == 1
    assert len(seen) == 4 and all(name.startswith("knn-search") for name in seen), seen
    assert len(set(seen)) <= resources.WORKERS



def test_the_answer_says_how_sure_it_is(app, mnist):
    app.radio(key="input").set_value("MNIST").run()
    app.session_state.test_row = 0  # a 7
    app.run()
    assert prediction(app) == ["7"]
    assert any(m.value.startswith("**At 95%: a 7**") for m in app.markdown)
    assert any(c.value.startswith("Credibility ") and "Confidence " in c.value for c in app.caption)
    assert any("The answer for every k from 1 to 25" in c.value for c in app.caption)
    app.select_slider(key="level").set_value(0.8).run()
    assert not app.exception and any(m.value.startswith("**At 80%:") for m in app.markdown)
    # the nearest reference of every other digit, each one a choice for the difference map
    assert any(s.value == "What it would take" for s in app.subheader)
    nines = [o for o in app.selectbox(key="pick").options if o.startswith("the nearest 9: ")]
    assert len(nines) == 1
    app.selectbox(key="pick").set_value(nines[0]).run()
    assert not app.exception
    assert any(c.startswith("the nearest 9: its 128 learned features") for c in captions(app))


def test_a_star_is_not_a_digit(monkeypatch, app):
    upload(monkeypatch, app, "star.png", png_of(255 - non_digit("star")))
    assert not app.exception
    assert prediction(app) == ["not a digit"]
    assert any("does not look like a digit" in m.value for m in app.markdown)
    assert any("The 7 nearest references" in m.value for m in app.markdown)  # its neighbours still show why


def _sketch(size, lines, width=18.0):
    from knn.sketch import Sketch

    return Sketch(size, tuple(np.round(np.asarray(line, float) * 4) / 4 for line in lines), (width,) * len(lines))


def test_a_shared_link_opens_its_drawing_and_answer():
    from knn.drawn import BROWSER_DIGITS
    from knn.sketch import pack

    text = pack(_sketch((280, 280), BROWSER_DIGITS[7]))
    at = AppTest.from_file(APP, default_timeout=600)
    at.query_params["drawing"] = text
    at.run()
    assert not at.exception and prediction(at) == ["7"]
    assert any(f"?drawing={text}" in c.value for c in at.code)  # the link, to copy
    at.button(key="clear").click().run()  # the page's Clear: an empty canvas, and the address forgets the drawing
    assert not at.exception and not prediction(at) and "drawing" not in at.query_params
    assert "taught" not in at.session_state or not at.session_state["taught"]  # someone else's: not kept
    assert any("Draw a digit" in i.value for i in at.info)


def test_a_link_says_when_digits_it_does_not_carry_decided():
    from knn.drawn import BROWSER_DIGITS
    from knn.sketch import pack

    text = pack(_sketch((280, 280), BROWSER_DIGITS[7]))
    at = AppTest.from_file(APP, default_timeout=600)
    at.query_params["drawing"] = text
    at.run()
    assert any(c.value.endswith("it opens the same drawing and answer.") for c in at.caption)
    fix(at, 1).click().run()  # this visitor says it is a 1: their own digit now decides, here
    assert not at.exception and prediction(at) == ["1"]
    assert any(c.value.endswith("it opens the same drawing, but here your own digit (★) decided, and the link does "
                                "not carry it: whoever opens it may be given another answer.") for c in at.caption)
    at.query_params["drawing"] = pack(_sketch((280, 280), BROWSER_DIGITS[0]))  # one their 1 does not decide
    at.run()
    assert prediction(at) == ["0"] and any(c.value.endswith("it opens the same drawing and answer.") for c in at.caption)
    other = AppTest.from_file(APP, default_timeout=600)  # whoever opens the link: without them
    other.query_params["drawing"] = text
    other.run()
    assert prediction(other) == ["7"]


def drawn_by_hand(label: int) -> AppTest:
    """The page with a drawing of ``label`` on its canvas, made by hand: opened by link, which the address then
    forgets (as it does once the visitor draws on), so only the canvas holds it."""
    from knn.drawn import BROWSER_DIGITS
    from knn.sketch import pack

    at = AppTest.from_file(APP, default_timeout=600)
    at.query_params["drawing"] = pack(_sketch((280, 280), BROWSER_DIGITS[label]))
    at.run()
    del at.query_params["drawing"]
    return at.run()


def test_a_lost_session_keeps_the_drawing_and_does_the_tap():
    """The server lost the visitor's session (a restart, a replica stopped); their page, drawn by the old session,
    sends its canvas and the tap to a new one: the drawing is read again, and the correction tapped is taught."""
    at = drawn_by_hand(7)
    gen = at.session_state["canvas_gen"]
    assert gen >= 1 and prediction(at) == ["7"] and "taught" not in at.session_state
    fix(at, 3).click()
    lost_session(at)
    assert not at.exception and at.session_state["canvas_gen"] == gen  # the browser's canvas, not an empty one
    assert prediction(at) == ["3"] and any("Taught: that was a 3" in s.value for s in at.success)
    assert [y for _, y, _, _ in at.session_state["taught"]["learned"]] == [3]  # taught once
    at.run()
    assert prediction(at) == ["3"] and len(at.session_state["taught"]["learned"]) == 1


def test_a_lost_session_clears_on_the_first_tap():
    at = drawn_by_hand(7)
    gen = at.session_state["canvas_gen"]
    at.button(key="clear").click()
    lost_session(at)
    assert not at.exception and not prediction(at) and any("Draw a digit" in i.value for i in at.info)
    assert at.session_state["canvas_gen"] == gen + 1  # a new, empty canvas


def test_a_lost_session_teaches_no_digit_the_visitor_did_not_see(app, unsure):
    """In MNIST mode a new session picks a test digit of its own: a correction tapped on the old page was about
    another digit, and its button (keyed by the drawing it corrects) is not this page's."""
    app.radio(key="input").set_value("MNIST").run()
    app.session_state.test_row = unsure
    app.run()
    fix(app, (int(prediction(app)[0]) + 1) % 10).click()
    lost_session(app)
    assert not app.exception and len(prediction(app)) == 1
    assert "taught" not in app.session_state or app.session_state.test_row == unsure


@pytest.mark.parametrize("text,says", [("not-a-drawing", "damaged"), ("A" * 9000, "too long"), ("%%", "characters")])
def test_a_bad_link_says_so_and_the_page_works(text, says):
    at = AppTest.from_file(APP, default_timeout=600)
    at.query_params["drawing"] = text
    at.run()
    assert not at.exception and not prediction(at)
    assert any(says in w.value and "Draw a digit instead" in w.value for w in at.warning), [w.value for w in at.warning]
    at.radio(key="input").set_value("MNIST").run()
    assert not at.exception and len(prediction(at)) == 1


def test_number_mode_reads_digits_left_to_right():
    from knn.drawn import BROWSER_DIGITS
    from knn.sketch import pack

    lines = [np.asarray(line, float) * 0.75 + [x, -10] for x, d in ((20, 1), (250, 0), (480, 7)) for line in BROWSER_DIGITS[d]]
    at = AppTest.from_file(APP, default_timeout=600)
    at.query_params["drawing"] = pack(_sketch((720, 240), lines))
    at.run()
    assert not at.exception and at.radio(key="input").value == "Number"
    number = [m for m in at.metric if m.label == "Number"]
    assert len(number) == 1 and number[0].value == "107", [m.value for m in at.metric]
    assert sum("digit" in c and "read" in c for c in captions(at)) == 3  # each digit with its own picture ...
    assert len(captions(at)) == 3 + 3 * 7  # ... and its own 7 nearest training digits


def test_an_uploaded_number_is_read_digit_by_digit(monkeypatch, app, mnist):
    row = np.concatenate([np.pad(mnist.test_images[i], ((4, 4), (6, 6))) for i in (0, 1, 2)], axis=1)  # 7, 2, 1
    upload(monkeypatch, app, "number.png", png_of(255 - np.kron(row, np.ones((6, 6), np.uint8))))
    assert not app.exception
    assert [m.value for m in app.metric if m.label == "Number"] == ["721"]


def test_clear_keeps_a_drawing_as_read_and_a_correction_replaces_it(monkeypatch, app):
    """The page's Clear keeps the drawing on the canvas as one of the visitor's own, read as it was; the same
    drawing again is then read through it; a tap corrects it, replacing it; a drawing corrected is not kept twice."""
    from knn.drawn import BROWSER_DIGITS
    from ui import widgets

    seven = _sketch((280, 280), BROWSER_DIGITS[7])
    monkeypatch.setattr(widgets, "draw_canvas", lambda stroke, size, initial=None, key="": seven)  # always a 7
    app.run()
    assert prediction(app) == ["7"] and app.session_state["pending"].label == 7
    app.button(key="clear").click().run()
    assert not app.exception
    assert [(y, corrected) for _, y, _, corrected in app.session_state["taught"]["learned"]] == [(7, False)]
    assert any("Kept as your 7 (★)" in t.value for t in app.toast)
    assert prediction(app) == ["7"]  # the same drawing on the new canvas: the kept 7, at distance 0, decides
    assert any(m.value.startswith("**Read as a 7 by your own 7 (★), the nearest of yours.**") for m in app.markdown)
    assert any("★ yours #1: a 7, as read" in c for c in captions(app))
    fix(app, 1).click().run()  # "Not a 7? It's a 1": the visitor's latest word on this drawing
    assert prediction(app) == ["1"]
    app.button(key="clear").click().run()
    assert [(y, corrected) for _, y, _, corrected in app.session_state["taught"]["learned"]] == [(1, True)]
    assert not any("Kept as" in t.value for t in app.toast)

"""The Draw page: draw a digit, see what the engine sees, its answer and its neighbours.

Thin by design: widgets in, pure functions from ``knn`` out. The references
of each setting are shared by every visitor (:mod:`ui.resources`); what one
visitor taught lives in their session (:mod:`ui.session`). Every choice that
depends on what is compared is asked of the comparison space
(:mod:`knn.spaces`); every neighbour shown is a record the answer carries.
"""

from __future__ import annotations

import contextlib
import hashlib
import math

import numpy as np
import streamlit as st

from knn import spaces
from knn.answer import MAX_K, OWN_RADIUS, answer, neighbours_csv
from knn.conformal import DIGIT_LEVEL, LEVEL, LEVELS
from knn.drawn import CANVAS
from knn.evaluate import TUTORIAL
from knn.figures import by_k_html, difference_map, for_display, framed, votes_html
from knn.origins import SHARED, legends
from knn.number import TooManyDigits
from knn.preprocess import ImageError, NothingDrawn, read_image
from knn.sketch import LinkError, pack, unpack
from ui import resources, rooms, session
from ui.resume import action_button, canvas_key, new_canvas
from ui.rooms import LINK
from ui.widgets import LAYOUT, PICTURES, SIDEWAYS, a_digit, draw_canvas, gallery, strip

INPUTS = ["Draw", "Number", "Upload", "MNIST"]  # MNIST: one of its test digits
NUMBER_CANVAS = (720, 240)  # Number mode's canvas: room for a few digits written left to right
LINK_WORDS = "The link to this drawing (copy it with the icon):"
FAMILIES = spaces.families()  # "learned features" -> [learned], "pixels" -> [thicken, redraw, deskew, none]


def _space_changed() -> None:
    """A new space starts at its own measured best k."""
    st.session_state["k"] = chosen_space().default_k


def chosen_space() -> spaces.Space:
    """The space the sidebar's choices name (the default before the sidebar is drawn)."""
    family = FAMILIES[st.session_state.get("family", spaces.DEFAULT.family)]
    names = [s.name for s in family]
    name = st.session_state.get("pipeline", names[0])
    return spaces.get(name if name in names else names[0])


def sidebar():
    st.sidebar.header("Settings")
    st.sidebar.radio("Compare", list(FAMILIES), key="family", horizontal=True, on_change=_space_changed,
                     help=" ".join(f"**{f}**: {members[0].description}" for f, members in FAMILIES.items()))
    members = FAMILIES[st.session_state["family"]]
    if len(members) > 1:
        st.sidebar.radio("Preprocessing", [s.name for s in members], key="pipeline", horizontal=True,
                         on_change=_space_changed,
                         help="Each adds one step to the next one down. " + " ".join(
                             f"**{s.name}**: {s.summary}." for s in members))
    space = chosen_space()
    st.sidebar.caption(space.description)
    best = ", ".join(f"{s.default_k} with {f}" for f, (s, *_) in FAMILIES.items())
    st.session_state.setdefault("k", space.default_k)
    k = st.sidebar.slider("k (neighbours that vote)", 1, MAX_K, key="k",
                          help=f"Measured best: {best}; switching what is compared sets it.")
    level = st.sidebar.select_slider(
        "How sure: the level of the answer's set", LEVELS, value=LEVEL, key="level", format_func=percent,
        help="The set holds every digit your drawing fits better than the worst-fitting (1 − level) of real "
             "digits fit their own label. At 95% it holds the right digit for 95% of MNIST's test digits "
             "(measured: 94.26%); a higher level gives larger sets.")
    metric = st.sidebar.radio("Distance", ["L1", "L2"], horizontal=True, key="metric",
                              help="L1: sum of |differences| (Manhattan). L2: Euclidean.").lower()
    voting = st.sidebar.radio("Vote weighting", ["uniform", "distance"], horizontal=True, key="voting",
                              help="uniform: one vote each; distance: nearer neighbours count more, 1/(d+1).")
    n_train = st.sidebar.select_slider("Training digits", resources.TRAIN_SIZES, value=resources.TRAIN_SIZES[-1],
                                       key="n_train", help=f"The TF1 tutorial used {TUTORIAL['n_train']:,}.")
    stroke = st.sidebar.slider("Brush width", 8, 40, 18, key="stroke", help="The pen's width on the canvas, px.")
    return space, k, metric, voting, n_train, level, stroke


def percent(v: float) -> str:
    """0.95 -> "95%", 0.999 -> "99.9%", 0.0004 -> "0.04%": small shares keep two significant places."""
    if 0 < v < 0.01:
        return f"{v * 100:.2g}%"
    return f"{v:.1%}".replace(".0%", "%")


def certainty_words(cert, prediction: int, level: float) -> tuple:
    """(headline, explanation) of an answer's certainty, in words a visitor understands."""
    at = percent(level)
    digits = cert.prediction_set(level)
    cred = (f"Credibility {percent(cert.credibility)}: it fits {a_digit(cert.best)} better than {percent(cert.credibility)} "
            f"of real digits (MNIST's, each left out in turn) fit their own label. ")
    conf = (f"Confidence {percent(cert.confidence)}: the next best digit fits better than only "
            f"{percent(1 - cert.confidence)} of them.")
    if cert.not_a_digit:
        return ("**This does not look like a digit.**",
                f"It is farther from every reference than {percent(1 - DIGIT_LEVEL)} of real digits are from theirs "
                f"(digit-likeness {percent(cert.digit_likeness)}). The vote would say {prediction}; the neighbours "
                "below show how unlike it they are.")
    if not digits:
        return (f"**At {at}: no digit fits well.**",
                f"Even {cert.best}, the best, fits worse than {at} of real digits fit theirs. " + cred + conf)
    if len(digits) == 1:
        return f"**At {at}: {a_digit(digits[0])}**, and no other digit.", cred + conf
    names = ", ".join(a_digit(d) for d in digits[:-1]) + f" or {a_digit(digits[-1])}"
    return f"**At {at}: {names}.**", "Each fits as well as real digits usually fit theirs. " + cred + conf


def explainer():
    with st.expander("How does k-nearest-neighbours decide?", expanded=False):
        st.markdown(
            "Your drawing is cropped, scaled to 20×20 and centred in 28×28 pixels, the way MNIST's digits were made. "
            "Then it is compared with **every one** of the training digits: the **L1 (Manhattan) distance** "
            "adds up how much the two differ, value by value. With **pixels** those are the 784 pixels (0–255 each); "
            "with **learned features** they are 128 numbers two small neural networks learned to read from a digit, "
            "numbers that hardly change with the pen's thickness, slant or size. The **k** training digits with the "
            "smallest distance vote, and the digit with most votes wins: the gallery below *is* the explanation. "
            "MNIST's writers seldom flagged a 1, crossed a 7 or curled a 9, so with learned features the references "
            "also hold digits 30 other people wrote with a pen (marked ᵖ), who often do.\n\n"
            "**How sure** is measured the way conformal prediction does: how well your drawing fits each digit "
            "(its distance to that digit's nearest references against the other digits') is compared with how "
            "well 5,000 of MNIST's training digits fit theirs: digits the networks never learned from, each left "
            "out of the index in turn. The "
            "answer's set holds every digit that fits better than the worst-fitting 5% of those (at 95%): it "
            "held the right digit for 94.26% of MNIST's test digits. A drawing farther from every reference "
            "than 99% of real digits are from theirs is answered \"this does not look like a digit\".\n\n"
            "**Your own digits**: a drawing you correct (\"Not a 5? It's a …\"), or clear without correcting, "
            "joins your own references (★). When the nearest of yours lies within "
            f"{OWN_RADIUS:g}× the distance of the k-th nearest shared reference, it decides; otherwise the k nearest "
            "shared references vote. So once it has seen how you write a 4, it reads your 4s your way. That radius "
            "was chosen on streams of pen writers neither the index nor the networks had ever seen, each "
            "correcting every misread digit at once and leaving the rest as read. How sure stays calibrated on "
            "MNIST's digits, your digits counting as references at their distance; when your digit decides "
            "against that fit, the answer says so."
        )


def shared_link() -> None:
    """Open a drawing shared by link (``?drawing=...``): once per link, on the canvas it was drawn on."""
    text = st.query_params.get(LINK)
    if not text or text == st.session_state.get("link_seen"):
        return
    st.session_state["link_seen"] = text
    try:
        sketch = unpack(text)
    except LinkError as e:
        st.session_state["link_error"] = str(e)
        del st.query_params[LINK]
        return
    st.session_state["shared"] = sketch
    st.session_state["input"] = "Number" if tuple(sketch.size) == NUMBER_CANVAS else "Draw"
    new_canvas()


def canvas(stroke: int, size: tuple, room=None):
    """The canvas with the page's own Clear and Share buttons under it (beside it on a phone held sideways,
    COLUMNS); returns the Sketch drawn, or None.
    In a ``room`` it leaves a place after them for Send to the wall (THIS_RUN["send"]), which the page fills
    once the drawing is answered (:func:`send_button`); likewise the line under a share link
    (THIS_RUN["link_note"], :func:`note_link`)."""
    shared = st.session_state.get("shared")
    initial = shared if shared is not None and tuple(shared.size) == tuple(size) else None
    wide = size[0] > CANVAS  # Number mode's: zoomed out where the page is narrower (NUMBER_FITS)
    with st.container(key="wide-box") if wide else contextlib.nullcontext(), \
            st.container(key="wide-canvas" if wide else "canvas-box"):
        sketch = draw_canvas(stroke, size, initial, key=canvas_key(size[0]))
    row = st.container(horizontal=True, gap="small", key="canvas-actions")
    action_button(row, "Clear", icon=":material/ink_eraser:", key="clear", action=_clear)
    share = row.button("Share", icon=":material/link:", key="share", disabled=sketch is None,
                       help="A link that opens this drawing and its answer")
    if room is not None:
        THIS_RUN["send"] = row.empty()
        if sketch is None:
            send_button(room, None)
    if sketch is not None:
        try:
            text = pack(sketch)
        except LinkError as e:
            if share:
                st.warning(str(e))
            return sketch
        if share:
            st.query_params[LINK] = text
            st.session_state["link_seen"] = text
        if st.query_params.get(LINK) == text:
            base = (st.context.url or "").split("?")[0]
            st.code(f"{base}?{LINK}={text}", language=None, wrap_lines=True)
            THIS_RUN["link_note"] = st.empty()
            THIS_RUN["link_note"].caption(f"{LINK_WORDS} it opens the same drawing and answer.")
        elif LINK in st.query_params:
            del st.query_params[LINK]  # drawn on since: the address no longer names this drawing
    return sketch


def note_link(answers) -> None:
    """Where this run shows a share link and digits it does not carry weighed in an answer (the visitor's own,
    ★, kept in this session, decided; a room's, ☆, which the link does not name, voted), say so under it."""
    if "link_note" not in THIS_RUN:
        return
    mine = any(a.decided_by is not None for a in answers)
    room = any(nb.origin.kind is SHARED for a in answers for nb in a.neighbours)
    if not (mine or room):
        return
    here = {(True, False): "your own digit (★) decided, and the link does not carry it",
            (False, True): "the room's taught digits (☆) voted, and the link does not carry them",
            (True, True): "your own digit (★) decided and the room's (☆) voted, and the link carries neither"}
    THIS_RUN["link_note"].caption(f"{LINK_WORDS} it opens the same drawing, but here {here[mine, room]}: whoever "
                                  "opens it may be given another answer.")


THIS_RUN = {}  # what one run of this page leaves for later in the same run (emptied as each run starts)


def send_button(room, sketch, ans=None, picture=None, level=None, unlabelled=None) -> None:
    """Send to the wall, in the place the canvas left for it: a press sends the drawing and its answer
    (:func:`ui.rooms.send`; ``unlabelled`` reads it without the visitor's own copy of it) in the run it
    starts, and the button then says Sent; a refusal is said under the canvas, and the drawing stays. A press
    made on the page of a session the server lost (:mod:`ui.resume`) is seen only once the button is drawn:
    it is sent then, and the page runs again to say so."""
    if sketch is not None:
        rooms.note_drawing(room, sketch)
    can_send = sketch is not None and ans is not None and not room.closed
    pressed = bool(st.session_state.get("send"))  # known before the button is drawn, but in a session's first run
    told = st.session_state.pop("send_told", None)  # the outcome of a press a lost session's page made
    if pressed and can_send:
        told = rooms.send(room, sketch, picture, ans, level, unlabelled)
    if told:
        ok, message = told
        if ok:
            st.toast(message, icon=":material/cast:")  # a toast: on a phone the answer stays where it was
        else:
            THIS_RUN["send_note"] = message
    sent = sketch is not None and rooms.already_sent(sketch)
    clicked = THIS_RUN["send"].button("Sent" if sent else "Send to the wall", icon=":material/cast:", key="send",
                                      type="primary", disabled=sketch is None or sent or room.closed,
                                      help=f"Put this drawing and its answer on the wall of room {room.code}: "
                                           "nothing leaves this page before you press it")
    if clicked and not pressed and can_send:  # pressed on the page of a session the server lost (ui.resume)
        st.session_state["send_told"] = rooms.send(room, sketch, picture, ans, level, unlabelled)
        st.rerun()


def _clear() -> None:
    """The page's Clear (the canvas's own toolbar shows only on hover, never by finger): a new, empty canvas.
    The drawing cleared joins the visitor's own digits as read, unless they corrected it (:func:`ui.session.keep`)."""
    kept = session.keep_pending()
    if kept:
        st.session_state["kept_message"] = kept
    new_canvas()
    st.session_state.pop("shared", None)
    if LINK in st.query_params:
        del st.query_params[LINK]


def picture_input(choice: str, stroke_width: int, room=None):
    """The picture to classify from the chosen input, or None (with a prompt shown). A drawing's Sketch is left
    in THIS_RUN["sketch"], for Send to the wall."""
    if choice == "Draw":
        sketch = THIS_RUN["sketch"] = canvas(stroke_width, (CANVAS, CANVAS), room)
        if sketch is None:
            st.info("Draw a digit (0–9) in the black square, as large as you like.")
            return None
        return sketch.picture()
    if choice == "Upload":
        up = st.file_uploader("A photo or scan of one digit, or of a number", type=["png", "jpg", "jpeg", "gif", "bmp", "webp"], key="upload")
        if up is None:
            st.info("Upload a PNG or JPEG of a handwritten digit or number.")
            return None
        try:
            ink = read_image(up.getvalue())  # checked here, before anything tries to display it
        except NothingDrawn:
            st.info(f"Nothing drawn: {up.name} holds no visible digit. Try a picture with a darker or lighter digit.")
            return None
        except ImageError as e:
            st.error(f"That picture cannot be read: {e}")
            return None
        st.image(for_display(ink, CANVAS), width=CANVAS, caption=f"{up.name}, as ink")
        return ink
    data = resources.mnist()
    if st.button("Random test digit", icon=":material/casino:", key="random") or "test_row" not in st.session_state:
        st.session_state.test_row = int(np.random.default_rng().integers(len(data.test_labels)))
    row = st.session_state.test_row
    st.caption(f"MNIST test digit #{row}, labelled {data.test_labels[row]}")
    st.image(data.test_images[row], width=CANVAS, output_format="PNG")
    return np.kron(data.test_images[row], np.ones((10, 10), np.uint8))  # read at the canvas's size, as drawn


def show_steps(ans):
    st.subheader("What the engine sees")
    s = ans.steps
    pictures = [(framed(s.crop, max(s.crop.shape)), f"ink cropped ({s.crop.shape[1]}×{s.crop.shape[0]} px)")]
    if ans.space.redraws_hairlines:
        pictures.append((s.skeleton.astype(np.float32), f"pen path: width {s.width:.1f} px at MNIST scale"))
        if s.redrawn is not None:
            pictures.append((s.redrawn, "thin pen: redrawn at MNIST's width"))
    pictures += [(framed(s.fitted, 20), f"fitted into 20×20 ({s.fitted.shape[1]}×{s.fitted.shape[0]})"),
                 (s.centred, "centred by mass in 28×28")]
    last = ans.space.last_step(ans.image, ans.query)
    if last is not None:
        pictures.append(last)
    st.html(strip([img for img, _ in pictures], [f"{n}. {c}" for n, (_, c) in enumerate(pictures, 1)], width=96))


def show_answer(ans, level: float):
    """The prediction, how sure, the nearest references (what must be on screen with the canvas), then the
    one-tap correction and the rest."""
    share = ans.shares[ans.prediction]
    k = len(ans.neighbours)
    if ans.certainty.not_a_digit:
        st.metric("Prediction", "not a digit", f"the vote says {ans.prediction}", delta_color="off", delta_arrow="off")
    else:
        said = ("your own digit decided" if ans.decided_by is not None
                else f"{share:.0%} of {k} vote{'s' if k > 1 else ''}")
        st.metric("Prediction", str(ans.prediction), said, delta_color="off", delta_arrow="off")
    headline, why = certainty_words(ans.certainty, ans.prediction, level)
    if ans.decided_by is not None:
        yours = f"**Read as {a_digit(ans.prediction)} by your own {ans.prediction} (★), the nearest of yours.**"
        if ans.prediction not in ans.certainty.prediction_set(level):
            headline = f"{yours} By how well it fits real digits, {headline[:2]}{headline[2].lower()}{headline[3:]}"
        else:
            headline = f"{yours} {headline}"
        st.markdown(f"{headline} Your digit, then the {k} nearest references, who voted {vote_words(ans)}:")
    else:
        st.markdown(f"{headline} The {k} nearest references:")
    nearest(ans)
    correct_it(ans)  # after the first neighbours: on a phone those share the screen with the canvas
    your_digits(ans.space)
    notes = [f"Captions: label · training index · distance; {ans.space.gallery_note}."]
    if any(nb.label != ans.prediction for nb in ans.neighbours):
        notes.append("✗: label differs from the prediction.")
    st.caption(" ".join(notes + legends(nb.origin.kind for nb in ans.neighbours)))
    st.caption(why)
    st.html(votes_html(ans.shares, ans.prediction))
    flips = sum(a != b for a, b in zip(ans.by_k, ans.by_k[1:]))
    st.caption(f"The answer for every k from 1 to {len(ans.by_k)} (yours framed"
               + (f"; a bar where it changes: {flips} time{'s' if flips > 1 else ''})" if flips else "; it never changes)"))
    st.html(by_k_html(ans.by_k, k))
    st.caption(f"Features, search, vote and certainty: {ans.seconds * 1000:.1f} ms")


def vote_words(ans) -> str:
    """The shared references' vote in words: "9, 57% of them"."""
    top = int(np.argmax(ans.shares))
    return f"{top}, {ans.shares[top]:.0%} of them"


def nearest(ans, size: int = 84, where=st):
    """An answer's nearest references, captioned "label · where from · distance", led by the visitor's own digit
    that decided, if one did; one row when they are at most 10."""
    shown = ((ans.decided_by,) if ans.decided_by is not None else ()) + ans.neighbours
    gallery([nb.picture for nb in shown], [nb.label for nb in shown],
            [f"{nb.origin.caption} · {nb.distance:,.0f}" for nb in shown], ans.prediction, size,
            row=len(shown) <= 10, where=where)


def show_others(ans):
    """The neighbours as CSV, the nearest of every other digit, and where a distance comes from."""
    st.download_button("Download the neighbours (CSV)", neighbours_csv(ans), file_name="neighbours.csv",
                       mime="text/csv", key="csv", on_click="ignore")
    if ans.others:
        st.subheader("What it would take")
        gallery([o.picture for o in ans.others], [o.label for o in ans.others],
                [f"{o.origin.caption} · +{ans.margin(o):,.0f}" for o in ans.others])
        st.caption(f"The nearest reference of every other digit, and how much farther it is than the nearest "
                   f"{ans.prediction} (+distance). To be read as one of them, your drawing would have to come that "
                   "much closer to it. Pick one below to see where the difference lies. "
                   + " ".join(legends(o.origin.kind for o in ans.others)))
    difference(ans)


def show_number(number, level: float):
    """A picture read as a number: the string, then every digit with its own answer and nearest digits."""
    st.metric("Number", number.digits, f"{len(number.answers)} digit{'s' if len(number.answers) > 1 else ''}, "
              "read left to right", delta_color="off", delta_arrow="off")
    doubtful = [j for j, a in enumerate(number.answers, 1) if a.certainty.not_a_digit]
    if doubtful:
        st.warning("Digit " + ", ".join(map(str, doubtful)) + " does not look like a digit: its vote is shown, "
                   "and its neighbours below show how unlike them it is.")
    for j, a in enumerate(number.answers, 1):
        headline, _ = certainty_words(a.certainty, a.prediction, level)
        c1, c2 = st.columns([1, 5])
        c1.html(strip([a.image], [f"digit {j}: read {a.prediction}"], width=72))
        c2.markdown(f"**Digit {j}: {a.prediction}** ({a.shares[a.prediction]:.0%} of {len(a.neighbours)} votes). "
                    + headline.replace("**", ""))
        nearest(a, 56, c2)
    st.caption("Each digit is cut out where the ink leaves a gap along the line (strokes that share most of their "
               "width, like a 5's flag or a crossed 7, stay one digit), then read alone, as a single drawing is. "
               f"Captions: label · training index · distance; {number.answers[0].space.gallery_note}.")


@st.fragment
def difference(ans):
    """Where one neighbour's distance comes from. A fragment: picking another neighbour reruns only this."""
    space = ans.space
    # The options are the names themselves: with positions as options and names from format_func, the
    # browser shows a stale name when a new drawing's neighbours keep the same positions.
    options = [f"#{j}: {a_digit(nb.label)} ({nb.origin.describe()})" for j, nb in enumerate(ans.neighbours, 1)]
    options += [f"the nearest {o.label}: {o.origin.describe()}, +{ans.margin(o):,.0f}" for o in ans.others]
    choice = st.selectbox("Where does the distance come from? Compare with neighbour", options, key="pick")
    pick = options.index(choice) if choice in options else 0
    nb = (ans.neighbours + ans.others)[pick]
    name = f"neighbour #{pick + 1}" if pick < len(ans.neighbours) else f"the nearest {nb.label}"
    c1, c2 = st.columns([1, 2])
    mine, theirs = space.grid(ans.query), space.grid(nb.vector)
    d, cols = len(ans.query), mine.shape[1]
    c1.html(strip([mine, theirs], [f"your digit: its {d} {space.values}", f"{name}: its {d} {space.values}"],
                  width=cols * (140 // cols)))
    picture, _ = difference_map(mine, theirs)
    rule = "the sum of this map" if ans.metric == "l1" else "the square root of the sum of its squares"
    where = f" ({space.grid_note})" if space.grid_note else ""
    c2.html(strip([picture], [f"{ans.metric.upper()} distance {nb.distance:,.0f}: {rule}, how much each of the {d} "
                              f"{space.values} differs{where}. Black: equal; the scale on the right runs from 0 "
                              "(bottom) to 255 apart (top)."], width=300))


def correct_it(ans):
    """One tap corrects a misread drawing: "Not a 5? It's a ..." and the ten digits. A tap teaches the drawing
    with that digit before the page runs again, which then reads the drawing with it. Each button's key names
    the drawing it corrects, so a press made on a page that showed another drawing teaches nothing."""
    def taught(label):
        ok, message = session.teach(ans.space, ans.query, label, ans.image)
        st.session_state["taught_message"] = (st.success if ok else st.warning, message)

    said = "this" if ans.certainty.not_a_digit else a_digit(ans.prediction)
    st.markdown(f"**Not {said}? It's a …**")
    row = st.container(horizontal=True, gap="small", key="correct")
    drawing = hashlib.blake2b(ans.query.tobytes(), digest_size=6).hexdigest()  # each button names what it corrects
    for d in range(10):
        action_button(row, str(d), key=f"fix-{d}-{drawing}", action=taught, args=(d,),
                      disabled=d == ans.prediction and not ans.certainty.not_a_digit,
                      help=f"Teach it: this drawing is {a_digit(d)}")
    message = st.session_state.pop("taught_message", None)
    if message:
        show, text = message
        show(text)
    st.caption(rule_sentence(len(ans.neighbours)))


def rule_sentence(k: int) -> str:
    """How a visitor's own digits weigh against the shared references, in one sentence."""
    nth = "" if k == 1 else f"{k}{'th' if 10 <= k % 100 < 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(k % 10, 'th')} "
    return (f"Each drawing you correct, or clear without correcting, joins your own references (★, this session "
            f"only), and the nearest of yours decides whenever it lies within {OWN_RADIUS:g}× the distance of the "
            f"{nth}nearest shared reference.")


def your_digits(space) -> None:
    """The visitor's taught digits, each with its own Remove, and Forget all; nothing when there are none."""
    n = session.n_taught()
    if not n:
        return
    mine = session.mine(space)

    def forgotten():
        session.forget()
        st.session_state["taught_message"] = (st.info, "Forgotten: your digits are gone; the shared references remain.")

    here = f"{len(mine)}" if len(mine) == n else f"{len(mine)} compared by {space.family}, {n} in all"
    with st.expander(f"Your digits ({here})", expanded=False, key="your-digits"):
        grid = st.container(horizontal=True, gap="small")
        for j, (_, label, picture, corrected) in enumerate(mine):
            cell = grid.container(width=96, gap=None)
            how = "corrected" if corrected else "as read"
            cell.html(strip([picture], [f"★ yours #{j + 1}: {a_digit(label)}, {how}"], width=56))
            cell.button("Remove", key=f"remove-{j}", on_click=session.remove, args=(space, j),
                        help=f"Forget yours #{j + 1}, kept as {a_digit(label)} ({how})")
        st.button(f"Forget all my digits ({n})", key="forget", on_click=forgotten)
        st.caption(f"At most {session.MAX_TAUGHT} digits per visitor (the oldest kept as read make room for new "
                   "ones); nobody else sees them.")


LIGHT = """<style>
*, *::before, *::after { animation: none !important; transition: none !important; }
</style>"""  # no fades or spinners: every visitor's browser redraws the page on each stroke, many on one machine

SIDE_BY_SIDE = (1, 1.4)  # the widths of the input's column and the answer's, where both fit in one row
ANSWER_MIN = 300  # px: an answer's column narrower than this goes under the input's instead
# The canvas's column is never narrower than the canvas (with the sidebar open, a tablet's or a small window's
# main area is not wide enough for both at Streamlit's widths): where the two do not fit side by side at
# their least, the answer goes under the canvas, as on a phone.
# On a screen held sideways (SIDEWAYS) the canvas's own buttons go beside it, in a column ACTIONS px wide, not
# under it, and the answer's column may be as narrow as SIDEWAYS_ANSWER_MIN px: scrolled to the canvas, a
# phone in landscape shows Send and the answer too.
ACTIONS, SIDEWAYS_ANSWER_MIN = 152, 240
CANVAS_COLUMN = '[data-testid="stColumn"]:has(.st-key-canvas-box)'
BESIDE = f'{CANVAS_COLUMN} > [data-testid="stVerticalBlock"]'  # the canvas, its buttons and what follows them
COLUMNS = f"""<style>
{CANVAS_COLUMN} {{ flex: {SIDE_BY_SIDE[0]} 1 0 !important; min-width: {CANVAS + 4}px !important; }}
{CANVAS_COLUMN} + [data-testid="stColumn"] {{ flex: {SIDE_BY_SIDE[1]} 1 0 !important;
  min-width: {ANSWER_MIN}px !important; }}
@media {SIDEWAYS} {{
  {CANVAS_COLUMN} {{ min-width: {CANVAS + 4 + ACTIONS}px !important; }}
  {CANVAS_COLUMN} + [data-testid="stColumn"] {{ min-width: {SIDEWAYS_ANSWER_MIN}px !important; }}
  {BESIDE} {{ flex-flow: row wrap; column-gap: 0.5rem; }}
  {BESIDE} > * {{ flex: 1 1 100%; }}
  {BESIDE} > :has(> .st-key-canvas-box) {{ flex: 0 0 auto !important; width: auto; }}
  {BESIDE} > :has(> .st-key-canvas-actions) {{ flex: 1 1 0 !important; min-width: 0; }}
  {BESIDE} .st-key-canvas-actions {{ flex-direction: column; align-items: flex-start; padding-top: 1.3rem; }}
}}
</style>"""


def zoom_to_fit(width: int, zooms=(0.85, 0.7, 0.6, 0.48, 0.4)) -> str:
    """CSS that zooms Number mode's canvas (``width`` px) out in steps where the page is narrower than it: each
    zoom where the one before no longer fits (on a phone, 0.48). The strokes stay in canvas pixels."""
    rules, fits = [], width + 2  # its frame
    for z in zooms:
        rules.append(f"@container (max-width: {fits - 1}px) {{ .st-key-wide-canvas {{ zoom: {z}; }} }}")
        fits = math.ceil((width + 2) * z)
    return "<style>\n.st-key-wide-box { container-type: inline-size; }\n" + "\n".join(rules) + "\n</style>"


NUMBER_FITS = zoom_to_fit(NUMBER_CANVAS[0])


def read_number(refs, picture, k, voting, space, metric, taught=None, where=st):
    """:func:`knn.number.read_number` on the shared workers; None, with the reason shown, if it cannot be read."""
    from knn.number import read_number as read

    try:
        return resources.run(read, refs, picture, k, voting, taught)
    except NothingDrawn:
        where.info("Nothing drawn yet: the picture has no ink. Draw or upload a digit.")
    except TooManyDigits as e:
        where.error(f"{e} Write a shorter number, with a gap between digits.")
    except ImageError as e:
        where.error(f"That picture cannot be read: {e}")
    return None


def main():
    if rooms.link_named_a_room():  # a phone in a lecture: the canvas first; the settings are one tap away
        st.set_page_config(initial_sidebar_state="collapsed")
    st.html(LIGHT + PICTURES + LAYOUT + COLUMNS + NUMBER_FITS)
    st.title("✍️ Nearest-neighbour digits")
    st.html('<p class="knn-tagline" style="opacity:.7;margin:0">Draw a digit. An exact k-nearest-neighbour search over '
            "tens of thousands of handwritten digits reads it, and shows you why.</p>")
    THIS_RUN.clear()
    session.pending(None)  # Clear's callback, if pressed, has kept it already; this run notes the drawing anew
    building = st.container()  # made on every run, so that what follows keeps its place (ui.warmup)
    space, k, metric, voting, n_train, level, stroke = sidebar()
    room = rooms.visit()
    seen = room if room is not None else rooms.from_wall()  # the room whose taught digits read the drawing
    shared_link()
    if "link_error" in st.session_state:
        st.warning(f"{st.session_state.pop('link_error')} Draw a digit instead.")
    if "kept_message" in st.session_state:  # a toast: on a phone the empty canvas stays where it was
        st.toast(st.session_state.pop("kept_message"), icon=":material/bookmark_added:")
    with resources.needed(" Choose **pixels** in the sidebar meanwhile."):
        refs = resources.references_now(n_train, metric, space.name, building)
    st.sidebar.caption("References: " + "; ".join(refs.sets) + "."
                       + (f" No real pen digits: {refs.note}" if refs.note else ""))
    group = rooms.group_taught(space, seen)
    taught = session.taught(space, metric, group)
    choice = st.radio("Input", INPUTS, horizontal=True, key="input", label_visibility="collapsed")
    if room is not None and choice != "Draw":
        st.caption(f"The wall of room {room.code} takes one drawn digit at a time: choose **Draw** to send one.")
    if choice == "Number":
        sketch = canvas(stroke, NUMBER_CANVAS)
        if sketch is None:
            st.info("Write a number left to right, with a small gap between digits (your birth year, say).")
        else:
            number = read_number(refs, sketch.picture(), k, voting, space, metric, taught)
            if number is not None:
                note_link(number.answers)
                show_number(number, level)
        explainer()
        return
    left, right = st.columns(SIDE_BY_SIDE, gap="medium")
    with left:
        picture = picture_input(choice, stroke, room)
    if picture is None:
        explainer()
        return
    if choice == "Upload":  # one digit or several: a picture of one digit is read whole, as a drawing is
        number = read_number(refs, picture, k, voting, space, metric, taught, left)
        if number is None:
            return
        if len(number.answers) > 1:
            with right:
                show_number(number, level)
            explainer()
            return
        ans = number.answers[0]
    else:
        try:
            ans = resources.answer(refs, picture, k, voting, taught)
        except NothingDrawn:
            left.info("Nothing drawn yet: the picture has no ink. Draw or upload a digit.")
            return
        except ImageError as e:
            left.error(f"That picture cannot be read: {e}")
            return
    if room is not None and THIS_RUN.get("send") is not None:
        # the drawing read without the visitor's copy of it, past the session's kept answer, which stays
        send_button(room, THIS_RUN.get("sketch"), ans, picture, level, lambda: resources.run(
            answer, refs, picture, k, voting, session.taught(space, metric, group, leave_out=ans.query)))
        if "send_note" in THIS_RUN:
            left.warning(THIS_RUN["send_note"])
    note_link([ans])
    with right:
        show_answer(ans, level)
    show_others(ans)
    show_steps(ans)
    explainer()
    session.remember(ans)  # for the Evaluate page's map
    own = choice == "Draw" and "shared" not in st.session_state and not ans.certainty.not_a_digit
    session.pending(ans if own else None)  # what Clear keeps: the visitor's own drawing, read as a digit


main()

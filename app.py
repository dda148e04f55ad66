"""The page: draw a digit, see what the engine sees, its answer and its neighbours.

Thin by design: widgets in, pure functions from ``knn`` out. One index per
setting is built once per process and shared by every visitor
(``st.cache_resource``); per-visitor state lives in ``st.session_state``.
The drawing canvas is wrapped in :func:`draw_canvas`, the one place that
knows the quirks of streamlit-drawable-canvas.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import streamlit as st  # noqa: E402

from knn.data import DataError  # noqa: E402
from knn.evaluate import TUTORIAL  # noqa: E402
from knn.figures import difference_map, enlarge, framed, votes_html  # noqa: E402
from knn.learned import WeightsError  # noqa: E402
from knn.preprocess import DEFAULT_K, DEFAULT_PIPELINE, PIPELINE_STEPS, ImageError, NothingDrawn, read_image  # noqa: E402
from ui import MAX_TAUGHT, answer, forget, gallery, index_for, mnist, n_taught, neighbours_csv, taught, teach  # noqa: E402

CANVAS = 280
TRAIN_SIZES = [5000, 10000, 20000, 30000, 45000, 60000]
INPUTS = ["Draw", "Upload", "MNIST test digit"]
SPACES = {  # what the engine compares, in one line each
    "learned features": "64 features a small CNN learned from MNIST (thickness, slant and size matter little there); "
                        "the neighbours are real training digits, and copies of its 1s, 7s and 9s with a flag, "
                        "a crossbar or a curled tail added (marked ˢ), the way many people write them.",
    "pixels": "the 784 pixels themselves: every distance is the sum of the difference map below.",
}
PIXEL_PIPELINES = ["thicken", "redraw", "deskew", "none"]

st.set_page_config(page_title="k-NN digits", page_icon="✍️", layout="wide")


def draw_canvas(stroke_width: int):
    """The drawing area; returns the drawing as an RGBA array, or None if empty.

    streamlit-drawable-canvas 0.13 quirks, kept here: pixels come back only with
    ``return_image_data=True``; ``image_data`` is None until the first stroke
    and may be larger than the canvas on high-DPI screens (the preprocessing
    does not care); its toolbar (undo, redo, reset) is always on.
    """
    from streamlit_drawable_canvas import st_canvas

    result = st_canvas(
        stroke_width=stroke_width, stroke_color="#FFFFFF", background_color="#000000",
        width=CANVAS, height=CANVAS, drawing_mode="freedraw", return_image_data=True,
        update_streamlit=True, key="canvas",
    )
    objects = (result.json_data or {}).get("objects") or []
    return result.image_data if objects else None


def sidebar():
    st.sidebar.header("Settings")
    k = st.sidebar.slider("k (neighbours that vote)", 1, 25, DEFAULT_K, key="k", help=f"{DEFAULT_K} measured best with learned features, 3 with pixels.")
    metric = st.sidebar.radio("Distance", ["L1", "L2"], horizontal=True, key="metric",
                              help="L1: sum of |pixel differences| (Manhattan). L2: Euclidean.").lower()
    weights = st.sidebar.radio("Vote weighting", ["uniform", "distance"], horizontal=True, key="weights",
                               help="uniform: one vote each; distance: nearer neighbours count more, 1/(d+1).")
    n_train = st.sidebar.select_slider("Training digits", TRAIN_SIZES, value=60000, key="n_train",
                                       help=f"The TF1 tutorial used {TUTORIAL['n_train']:,}.")
    names = list(SPACES) if DEFAULT_PIPELINE == "learned" else list(reversed(SPACES))  # the best first
    space = st.sidebar.radio("Compare", names, key="space", horizontal=True,
                             help=" ".join(f"**{n}**: {what}" for n, what in SPACES.items()))
    st.sidebar.caption(SPACES[space])
    if space == "pixels":
        preprocess = st.sidebar.radio("Preprocessing", PIXEL_PIPELINES, key="preprocess", horizontal=True,
                                      help="Each adds one step to the next one down. " + " ".join(
                                          f"**{name}**: {PIPELINE_STEPS[name]}." for name in PIXEL_PIPELINES))
    else:
        preprocess = "learned"
    return k, metric, weights, n_train, preprocess


def explainer():
    with st.expander("How does k-nearest-neighbours decide?", expanded=False):
        st.markdown(
            "Your drawing is cropped, scaled to 20×20 and centred in 28×28 pixels, the way MNIST's digits were made. "
            "Then it is compared with **every one** of the training digits: the **L1 (Manhattan) distance** "
            "adds up how much the two differ, value by value. With **pixels** those are the 784 pixels (0–255 each); "
            "with **learned features** they are 64 numbers a small neural network learned to read from a digit, "
            "numbers that hardly change with the pen's thickness, slant or size. The **k** training digits with the "
            "smallest distance vote, and the digit with most votes wins: the gallery below *is* the explanation. "
            "MNIST's writers seldom flagged a 1, crossed a 7 or curled a 9, so with learned features the training "
            "set also holds copies of its 1s, 7s and 9s with those strokes drawn on."
        )


def picture_input(choice: str, stroke_width: int):
    """The picture to classify from the chosen input, or None (with a prompt shown)."""
    if choice == "Draw":
        image = draw_canvas(stroke_width)
        if image is None:
            st.info("Draw a digit (0–9) in the black square, as large as you like.")
        return image
    if choice == "Upload":
        up = st.file_uploader("A photo or scan of one digit", type=["png", "jpg", "jpeg", "gif", "bmp", "webp"], key="upload")
        if up is None:
            st.info("Upload a PNG or JPEG of one handwritten digit.")
            return None
        data = up.getvalue()
        try:
            ink = read_image(data)  # checked here, before anything tries to display it
        except NothingDrawn:
            st.info(f"Nothing drawn: {up.name} holds no visible digit. Try a picture with a darker or lighter digit.")
            return None
        except ImageError as e:
            st.error(f"That picture cannot be read: {e}")
            return None
        st.image(ink, width=CANVAS, caption=f"{up.name}, as ink")
        return ink
    data = mnist()
    if st.button("🎲 Random test digit", key="random") or "test_row" not in st.session_state:
        st.session_state.test_row = int(np.random.default_rng().integers(len(data.test_labels)))
    row = st.session_state.test_row
    st.caption(f"MNIST test digit #{row}, labelled {data.test_labels[row]}")
    img = np.kron(data.test_images[row], np.ones((10, 10), np.uint8))  # drawn at canvas size
    st.image(img, width=CANVAS)
    return img


def show_steps(ans, preprocess: str):
    st.subheader("What the engine sees")
    s = ans.steps
    pictures = [(framed(s.crop, max(s.crop.shape)), f"ink cropped ({s.crop.shape[1]}×{s.crop.shape[0]} px)")]
    if preprocess in ("redraw", "thicken", "learned"):
        pictures.append((s.skeleton.astype(np.float32), f"pen path: width {s.width:.1f} px at MNIST scale"))
        if s.redrawn is not None:
            pictures.append((s.redrawn, "thin pen: redrawn at MNIST's width"))
    pictures += [(framed(s.fitted, 20), f"fitted into 20×20 ({s.fitted.shape[1]}×{s.fitted.shape[0]})"),
                 (s.centred, "centred by mass in 28×28")]
    if preprocess == "learned":
        pictures.append((ans.query.reshape(8, 8), "its 64 learned features (8×8)"))
    elif preprocess != "none":
        pictures.append((ans.image, "deskewed (as the index)"))
    for col, (n, (img, caption)) in zip(st.columns(len(pictures)), enumerate(pictures, 1)):
        col.image(enlarge(img, 96), width=98, caption=f"{n}. {caption}")


def show_answer(ans, k: int):
    c1, c2 = st.columns([1, 2])
    share = ans.shares[ans.prediction]
    c1.metric("Prediction", str(ans.prediction), f"{share:.0%} of {k} vote{'s' if k > 1 else ''}",
              delta_color="off", delta_arrow="off")
    if ans.gap is None:
        c1.caption("Confidence: the 100 nearest training digits all agree.")
    else:
        c1.caption(f"Confidence: the nearest **{ans.runner_up}** is {ans.gap:,.0f} farther than the nearest "
                   f"**{ans.prediction}** ({ans.gap / max(ans.distances[0], 1):.0%} of its distance).")
    c1.caption(f"Features, search and vote: {ans.seconds * 1000:.1f} ms")
    c2.html(votes_html(ans.shares, ans.prediction))


def sources(ans, refs) -> list:
    """Where each neighbour comes from, in words."""
    return [f"yours #{int(i) + 1}" if mine else refs.describe(int(i)) for i, mine in zip(ans.indices, ans.taught)]


def neighbour(ans, index, refs, j: int, preprocess: str):
    """The j-th neighbour: (its vector as compared (d,), its picture (28, 28)), from the index or the visitor's own."""
    if ans.taught[j]:
        vectors, _, pictures = taught(preprocess)
        return vectors[ans.indices[j]], pictures[ans.indices[j]]
    vector = index.reconstruct(ans.indices[j])[0]
    if preprocess == "learned":
        return vector, refs.picture(int(ans.indices[j]), mnist())
    return vector, vector.reshape(28, 28)


def show_neighbours(ans, index, refs, metric: str, preprocess: str):
    st.subheader(f"The {len(ans.indices)} nearest training digits")
    pairs = [neighbour(ans, index, refs, j, preprocess) for j in range(len(ans.indices))]
    images = [p for _, p in pairs]
    captions = []
    for j, pos in enumerate(ans.indices):
        if ans.taught[j]:
            captions.append(f"★ yours · {ans.distances[j]:,.0f}")
        else:
            captions.append(f"#{refs.rows[pos]}{refs.mark(pos)} · {ans.distances[j]:,.0f}")
    gallery(images, [int(v) for v in ans.labels], captions, ans.prediction)
    shown = "distance in the learned features" if preprocess == "learned" else "digits shown as compared"
    notes = [f"Captions: label · training index · distance; {shown}."]
    if any(ans.labels != ans.prediction):
        notes.append("✗: label differs from the prediction.")
    notes += refs.mark_notes(ans.indices[~ans.taught])
    if ans.taught.any():
        notes.append("★: a digit you taught (only you see it).")
    st.caption(" ".join(notes))
    st.download_button("Download the neighbours (CSV)", neighbours_csv(ans.labels, sources(ans, refs), ans.distances),
                       file_name="neighbours.csv", mime="text/csv", key="csv")
    # The options are the names themselves: with positions as options and names from format_func, the
    # browser kept showing the name from an earlier rerun (a stroke before) when the positions stayed the same.
    options = [f"#{j + 1}: a {lab} ({name})" for j, (lab, name) in enumerate(zip(ans.labels, sources(ans, refs)))]
    choice = st.selectbox("Where does the distance come from? Compare with neighbour", options, key="pick")
    pick = options.index(choice) if choice in options else 0
    c1, c2 = st.columns([1, 2])
    if preprocess == "learned":
        c1.image(enlarge(ans.query.reshape(8, 8), 140), width=142, caption="your digit's 64 features")
        c1.image(enlarge(pairs[pick][0].reshape(8, 8), 140), width=142, caption=f"neighbour #{pick + 1}'s features")
        what = "how much each of the 64 learned features differs (feature 8r + c in row r, column c)"
    else:
        c1.image(enlarge(ans.image, 140), width=142, caption="your digit (as compared)")
        c1.image(enlarge(images[pick], 140), width=142, caption=f"neighbour #{pick + 1} (as compared)")
        what = "how much each pixel differs"
    picture, total = difference_map(ans.query, pairs[pick][0], metric)
    rule = "the sum of this map" if metric == "l1" else "the square root of the sum of its squares"
    c2.image(picture, width=300, caption=f"{metric.upper()} distance {total:,.0f}: {rule}, {what}. "
                                         "Black: equal; the scale on the right runs from 0 (bottom) to 255 apart (top).")
    return images


def teach_it(ans, preprocess: str):
    """k-NN learns from one example: the visitor labels this drawing and it joins their own neighbours."""
    with st.container(border=True):
        st.markdown("**Teach it.** Tell it what this digit is; from now on it is one of *your* neighbours.")
        c1, c2, c3 = st.columns([1, 1, 1.3])
        label = c1.selectbox("This is a", list(range(10)), index=ans.prediction, key="teach_label")
        if c2.button("Teach it", key="teach"):
            msg = teach(preprocess, ans.query, label, ans.image)
            (st.warning if msg.startswith("You have taught") else st.success)(msg)
            st.session_state["retaught"] = True
        if c3.button(f"Forget my digits ({n_taught()})", key="forget", disabled=not n_taught()):
            forget()
            st.info("Forgotten: only MNIST's training digits remain.")
        st.caption(f"Taught digits stay in this browser session only (at most {MAX_TAUGHT}); nobody else sees them.")


LIGHT = """<style>
*, *::before, *::after { animation: none !important; transition: none !important; }
</style>"""  # no fades or spinners: every visitor's browser redraws the page on each stroke, many on one machine


def main():
    st.html(LIGHT)
    st.title("✍️ Nearest-neighbour digits")
    st.caption("Draw a digit. An exact k-nearest-neighbour search over MNIST's training digits reads it, and shows you why.")
    k, metric, weights, n_train, preprocess = sidebar()
    try:
        index, refs = index_for(n_train, metric, preprocess)
    except DataError as e:
        st.error(f"The MNIST data could not be loaded: {e}")
        st.stop()
    except WeightsError as e:
        st.error(f"The learned features are not available: {e} Choose **pixels** in the sidebar meanwhile.")
        st.stop()
    explainer()
    left, right = st.columns([1, 1.4], gap="large")
    with left:
        choice = st.radio("Input", INPUTS, horizontal=True, key="input", label_visibility="collapsed")
        stroke = st.slider("Brush width", 8, 40, 18, key="stroke") if choice == "Draw" else 18
        picture = picture_input(choice, stroke)
    if picture is None:
        return
    try:
        ans = answer(index, picture, k, weights, preprocess)
    except NothingDrawn:
        left.info("Nothing drawn yet: the picture has no ink. Draw or upload a digit.")
        return
    except ImageError as e:
        left.error(f"That picture cannot be read: {e}")
        return
    with right:
        show_answer(ans, k)
        show_steps(ans, preprocess)
        teach_it(ans, preprocess)
    if st.session_state.pop("retaught", False):
        ans = answer(index, picture, k, weights, preprocess)  # show the new neighbour now
    images = show_neighbours(ans, index, refs, metric, preprocess)
    st.session_state["last"] = {  # for the Evaluate page's map
        "query": ans.image, "preprocess": preprocess, "prediction": ans.prediction, "neighbours": np.stack(images),
    }


main()

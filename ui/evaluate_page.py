"""The Evaluate page: how good k-NN is on MNIST, where it fails, and why.

Everything heavy is computed by :mod:`knn.tables` (the same references and
search as ``python -m knn evaluate``) once, with a progress bar, and kept on
disk (:mod:`knn.cache`) and in memory, so the page opens at once from then on.
"""

from __future__ import annotations

import threading

import numpy as np
import streamlit as st

from knn import progress as knn_progress, spaces, tables
from knn.conformal import DIGIT_LEVEL, LEVEL, LEVELS, coverage, set_size
from knn.data import DataError
from knn.evaluate import TUTORIAL
from knn.figures import accuracy_curves, confusion_heatmap, coverage_chart, histograms, per_class_chart, pca_scatter
from knn.omniglot import LOOKALIKE, find_omniglot
from knn.pen import find_pendigits
from knn.origins import legends
from ui import resources, session
from ui.widgets import LAYOUT, PICTURES, ProgressBar, gallery

FULL = (None, None, "60,000 / 10,000")
SMALL = (TUTORIAL["n_train"], TUTORIAL["n_test"], f"{TUTORIAL['n_train']:,} / {TUTORIAL['n_test']:,}")
SHOWN = (spaces.NONE, spaces.DEFAULT)  # always; the best pixel space on request (its 20-NN of 120,000 vectors is slow)
BEST_PIXELS = spaces.THICKEN
MAP_SPACE = spaces.THICKEN  # the map's pixels until the visitor has drawn something
MAP_POINTS = 6000  # training digits drawn on the map (all 60,000 would slow the browser)


def settings_for(shown) -> list:
    """The (size, metric, space) settings whose neighbour tables the page needs, in the curves' order."""
    return [(size, metric, space) for size in (FULL, SMALL) for space in shown for metric in ("l1", "l2")]


def name_of(setting) -> str:
    size, metric, space = setting
    return f"{metric.upper()}, {space.title}, {size[2]}"


@st.cache_resource(show_spinner=False)
def slot(n_train, n_test, metric: str, space: str) -> dict:
    """One setting's neighbour table (see knn.tables), computed once per process: whoever comes first computes
    it while visitors who open the page meanwhile wait for it, instead of computing it again."""
    return {"lock": threading.Lock(), "table": None}


@st.cache_resource(show_spinner="Checking the data...")
def checksum() -> str:
    return tables.data_checksum(resources.mnist())


def slot_of(setting) -> dict:
    """:func:`slot` of a (size, metric, space) setting."""
    (n_train, n_test, _), metric, space = setting
    return slot(n_train, n_test, metric, space.name)


def load_tables(settings) -> dict:
    slots = {s: slot_of(s) for s in settings}
    missing = [s for s in settings if slots[s]["table"] is None]
    if missing:
        bar = ProgressBar("Evaluating (once; kept on disk for next time)")
        for i, setting in enumerate(missing):
            (n_train, n_test, _), metric, space = setting
            label, mine = name_of(setting), slots[setting]
            bar.show(i / len(missing), f"Evaluating {label}")

            def show(done, total, own, i=i, label=label):
                who = "Evaluating" if own else "Another visitor's page is evaluating"
                bar.show((i + done / total) / len(missing), f"{who} {label}: {done:,} of {total:,} test digits")

            with resources.held(mine, show) as tick, knn_progress.watching(bar.making):
                if mine["table"] is None:
                    mine["table"] = tables.neighbour_table(resources.mnist(), space, metric, n_train, n_test, 0,
                                                           progress=tick, checksum=checksum())
        bar.empty()
    return {s: slots[s]["table"] for s in settings}


def curve(setting):
    """A setting's accuracy for k = 1..K_MAX, worked out once per process from its table (kept in its slot)."""
    mine = slot_of(setting)
    if mine.get("curve") is None:
        mine["curve"] = tables.accuracy_by_k(mine["table"], range(1, tables.K_MAX + 1))
    return mine["curve"]


def curves_section(settings):
    st.subheader("Accuracy against k")
    ks = range(1, tables.K_MAX + 1)
    curves = {name_of(s): curve(s) for s in settings}
    tutorial = curve((SMALL, "l1", spaces.NONE))[0]
    fig = accuracy_curves(curves, ks, {f"TF1 tutorial setting: {tutorial:.1%}": (1, tutorial)})
    st.plotly_chart(fig, width="stretch", key="curves")
    best = max(curves.items(), key=lambda kv: kv[1].max())
    st.caption(f"Solid: all 60,000 training and 10,000 test digits. Dotted: the TF1 tutorial's 5,000 / 200 "
               f"(one seeded draw, so it jumps: 200 test digits make 0.5% steps). Best: {best[0]} at "
               f"k={int(np.argmax(best[1])) + 1}, {best[1].max():.2%}. References here: MNIST's training digits "
               f"(and the learned space's styled copies); the Draw page's learned index holds real pen digits "
               f"instead of the copies, measured in docs/results.md.")


def confusion_section(store):
    space = spaces.DEFAULT
    table = store[(FULL, "l1", space)]
    st.subheader(f"Where it fails (L1, {space.title}, 60,000 / 10,000)")
    k = st.slider("k for this section", 1, tables.K_MAX, space.default_k, key="eval_k",
                  help="The Draw page's default.")
    pred = tables.predictions(table, k)
    m = tables.confusion(table["truth"], pred)
    errors = m.sum() - np.trace(m)
    off = m.copy()
    np.fill_diagonal(off, -1)
    worst = np.unravel_index(np.argmax(off), off.shape)
    c1, c2 = st.columns([1.4, 1])
    with c2:
        st.metric("Accuracy", f"{np.trace(m) / m.sum():.2%}", f"{errors} errors of {m.sum():,}",
                  delta_color="off", delta_arrow="off")
        st.markdown("**Pick a cell** to list its digits:")
        t = st.selectbox("True label", list(range(10)), index=int(worst[0]), key="cell_true")
        p = st.selectbox("Predicted as", list(range(10)), index=int(worst[1]), key="cell_pred")
        st.plotly_chart(per_class_chart(m), width="stretch", key="per_class")
        st.caption("Accuracy per true digit.")
    with c1:
        st.plotly_chart(confusion_heatmap(m, (t, p)), width="stretch", key="confusion")
        st.caption("Rows: true label; columns: prediction. Only the errors are coloured.")
    misclassified(table, pred, t, p, k)


def misclassified(table, pred, t: int, p: int, k: int, limit: int = 12):
    rows = np.nonzero((table["truth"] == t) & (pred == p))[0]
    what = "correctly read" if t == p else "misread"
    st.subheader(f"{len(rows)} test digit{'s' if len(rows) != 1 else ''} labelled {t}, read as {p}")
    if not len(rows):
        st.info(f"No test digit labelled {t} was read as {p} at k={k}.")
        return
    st.caption(f"Each row: the test digit ({what}), then its {k} nearest training digits with their distances.")
    data = resources.mnist()
    refs = resources.references(len(data.train_labels), "l1", spaces.DEFAULT.name, pen=False)  # the table's
    for r in rows[:limit]:
        test_row = int(table["test_rows"][r])
        pos = table["positions"][r, :k]
        images = [data.test_images[test_row]] + [refs.picture(int(i)) for i in pos]
        labels = [t] + [int(v) for v in table["labels"][r, :k]]
        caps = [f"test #{test_row}"] + [f"{refs.origin(int(i)).caption} · {d:,.0f}" for i, d in
                                         zip(pos, table["distances"][r, :k])]
        gallery(images, labels, caps, prediction=p, size=56)
    if len(rows) > limit:
        st.caption(f"... and {len(rows) - limit} more.")
    marks = legends(refs.origin(int(i)).kind for i in table["positions"][rows[:limit], :k].reshape(-1))
    if marks:
        st.caption(" ".join(marks))


LEVEL_CURVE = tuple(np.round(np.arange(0.5, 0.995, 0.005), 3)) + (0.995, 0.999)


@st.cache_resource(show_spinner=False)
def certainty_slot() -> dict:
    """The certainty section's table, computed once per process (see :func:`slot`)."""
    return {"lock": threading.Lock(), "table": None}


def _optional(find) -> tuple:
    """(path, None) of an optional data set's file, or (None, why not) when it is absent."""
    try:
        return find(), None
    except DataError as e:
        return None, str(e)


def load_certainty() -> dict:
    """The certainty section's table (see :func:`knn.tables.certainty_table`), once per process, before any
    widget is drawn: a click elsewhere on the page reruns the script and would cut a computation short."""
    data = resources.mnist()
    refs = resources.references(len(data.train_labels), "l1", spaces.DEFAULT.name, pen=False)  # no pen digit in
    pen, no_pen = _optional(find_pendigits)
    other, no_other = _optional(find_omniglot)
    mine = certainty_slot()
    if mine["table"] is not None:
        return mine
    bar = ProgressBar("Calibrated certainty of MNIST's test digits, pen digits and non-digits (once; kept on disk)")

    def show(done, total, own):
        who = "Certainty" if own else "Another visitor's page is working out the certainty"
        bar.show(done / total, f"{who}: {done:,} of {total:,} pictures read")

    with resources.held(mine, show) as tick, knn_progress.watching(bar.making):
        if mine["table"] is None:
            mine["table"] = tables.certainty_table(refs, data, checksum(), pen, other, progress=tick)
            mine["missing"] = [why for why in (no_pen, no_other) if why]
    bar.empty()
    return mine


def certainty_section(mine: dict):
    st.subheader("How sure, and is it a digit at all?")
    table = mine["table"]
    level = st.select_slider("Level", LEVELS, value=LEVEL, key="eval_level", format_func=lambda v: f"{v:.1%}")
    groups = [("MNIST test digits", "mnist")] + ([("real pen digits", "pen")] if "pen_p" in table else [])
    cols = st.columns(len(groups) + ("other_p" in table))
    for col, (name, key) in zip(cols, groups):
        p, truth = table[f"{key}_p"], table[f"{key}_truth"]
        cov, size = coverage(p, truth, [level])[0], set_size(p, [level])[0]
        col.metric(f"{name}: sets that hold the digit", f"{cov:.2%}", f"mean set size {size:.3f}",
                   delta_color="off", delta_arrow="off")
        col.caption(f"Answered \"not a digit\": {(table[f'{key}_likeness'] < DIGIT_LEVEL).mean():.2%}")
    if "other_p" in table:
        latin = table["other_alphabet"] == LOOKALIKE
        flagged = table["other_likeness"] < DIGIT_LEVEL
        cols[-1].metric("non-digits answered \"not a digit\"", f"{flagged[~latin].mean():.1%}",
                        f"{LOOKALIKE} letters: {flagged[latin].mean():.1%}", delta_color="off", delta_arrow="off")
        cols[-1].caption(", ".join(f"{a.replace('_', ' ')} {flagged[table['other_alphabet'] == a].mean():.0%}"
                                   for a in sorted(set(table["other_alphabet"].tolist()))))
    c1, c2 = st.columns(2)
    curves = {name: coverage(table[f"{key}_p"], table[f"{key}_truth"], LEVEL_CURVE) for name, key in groups}
    c1.plotly_chart(coverage_chart(curves, LEVEL_CURVE), width="stretch", key="coverage")
    c1.caption("Calibrated leave-one-out on MNIST's training digits, so the promise is for digits like MNIST's: "
               "the test digits follow the diagonal. Pen digits by other writers, drawn on a canvas, are less "
               "typical and their sets hold the digit less often. None of the pen digits is in the index here, and they "
               "are read with the networks trained on MNIST alone, so no writer is read by networks that saw them.")
    cred = {name: table[f"{key}_p"].max(1) for name, key in groups}
    likeness = {name: table[f"{key}_likeness"] for name, key in groups}
    if "other_p" in table:
        cred["non-digits"] = table["other_p"].max(1)
        likeness["non-digits"] = table["other_likeness"]
    c2.plotly_chart(histograms(cred, "credibility: the best digit's p-value"), width="stretch", key="credibility")
    c2.caption("Credibility: how well the best-fitting digit fits. Non-digits fit no digit well.")
    st.plotly_chart(histograms(likeness, "digit-likeness (log scale)", DIGIT_LEVEL, log=True), width="stretch",
                    key="likeness")
    missing = mine["missing"]
    st.caption(f"Digit-likeness: how typical a picture's distance from the references is, among MNIST's training "
               f"digits. Left of the dashed line ({DIGIT_LEVEL:g}) the Draw page answers \"this does not look like a "
               "digit\"." + "".join(f" {why}" for why in missing))


def map_section():
    st.subheader("The training set on a map")
    last = session.last()
    space = spaces.get(last.space) if last is not None else MAP_SPACE
    data = resources.mnist()
    pca = tables.pca_map(data, space, checksum())
    sample = np.random.default_rng(0).choice(len(data.train_labels), min(MAP_POINTS, len(data.train_labels)),
                                             replace=False)
    you = nbs = None
    if last is not None:
        you = tables.project(pca, last.image)
        nbs = tables.project(pca, last.neighbours)
    fig = pca_scatter(pca["coords"][sample], data.train_labels[sample], you, nbs, pca["explained"])
    st.plotly_chart(fig, width="stretch", key="map")
    if last is None:
        st.caption("The first two principal components of the deskewed training digits' pixels, 6,000 of them. "
                   "Draw a digit on the Draw page and it appears here as a star, with its nearest neighbours circled.")
    else:
        st.caption(f"The star is your last drawing (read as {last.prediction}); circles are its nearest neighbours. "
                   "The map shows pixels (as the space sees them), and two components keep only part of the "
                   "picture: neighbours may look far apart here, all the more so with learned features.")


def main():
    st.html(PICTURES + LAYOUT)  # the phone layout of every page: less padding, a smaller title
    st.title("How good is nearest-neighbour, and where does it fail?")
    extra = st.checkbox(f"Add the best pixel space ({BEST_PIXELS.name}) to the curves", key="with_thicken",
                        help="Deskewed, thickened pixels and their thicker copies: 120,000 vectors. Its tables take "
                             "about six minutes once on two cores, then they are kept on disk like the others.")
    settings = settings_for(SHOWN + ((BEST_PIXELS,) if extra else ()))
    with resources.needed():
        store = load_tables(settings)
        certain = load_certainty()
    curves_section(settings)
    confusion_section(store)
    certainty_section(certain)
    map_section()


main()

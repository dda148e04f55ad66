"""The Evaluate page: how good k-NN is on MNIST, where it fails, and why.

Everything heavy is computed by ``knn.report`` (the same index and search as
``python -m knn evaluate``) once, with a progress bar, and kept on disk
(``knn.cache``) and in memory, so the page opens at once from then on.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import streamlit as st  # noqa: E402

from knn import report  # noqa: E402
from knn.data import DataError  # noqa: E402
from knn.evaluate import TUTORIAL  # noqa: E402
from knn.learned import WeightsError  # noqa: E402
from knn.preprocess import DEFAULT_K, DEFAULT_PIPELINE  # noqa: E402
from knn.figures import accuracy_curves, confusion_heatmap, per_class_chart, pca_scatter  # noqa: E402
from ui import gallery, index_for, mnist  # noqa: E402

st.set_page_config(page_title="Evaluate · k-NN digits", page_icon="📊", layout="wide")

FULL = (None, None, "60,000 / 10,000")
SMALL = (TUTORIAL["n_train"], TUTORIAL["n_test"], "5,000 / 200")
PIPELINE_NAMES = {"none": "raw pixels", "thicken": "best pixel pipeline", "learned": "learned features"}
SHOWN = ("none", DEFAULT_PIPELINE)  # always; the best pixel pipeline on request (its 20-NN of 120,000 vectors is slow)


def curves_for(pipelines) -> list:
    """The (size, metric, pipeline) settings whose neighbour tables the page needs."""
    return [(size, metric, pre) for size in (FULL, SMALL) for pre in PIPELINE_NAMES if pre in pipelines
            for metric in ("l1", "l2")]


MAP_POINTS = 6000  # training digits drawn on the map (all 60,000 would slow the browser)


@st.cache_resource(show_spinner=False)
def results() -> dict:
    """Filled once per process; each entry is a neighbour table (see knn.report)."""
    return {}


@st.cache_resource(show_spinner="Checking the data...")
def checksum() -> str:
    return report.data_checksum(mnist())


def load_tables(curves) -> dict:
    store = results()
    missing = [c for c in curves if c not in store]
    if missing:
        bar = st.progress(0.0, text="Evaluating (once; kept on disk for next time)...")
        for i, (size, metric, pre) in enumerate(missing):
            label = f"{metric.upper()}, {PIPELINE_NAMES[pre]}, {size[2]}"

            def tick(done, total, i=i, label=label):
                bar.progress((i + done / total) / len(missing), text=f"Evaluating {label}: {done:,} of {total:,} test digits")

            store[(size, metric, pre)] = report.neighbour_table(mnist(), size[0], size[1], 0, metric, pre,
                                                                progress=tick, checksum=checksum())
        bar.empty()
    return store


def curves_section(tables, shown):
    st.subheader("Accuracy against k")
    ks = range(1, report.K_MAX + 1)
    curves = {f"{m.upper()}, {PIPELINE_NAMES[p]}, {s[2]}": report.accuracy_by_k(tables[(s, m, p)], ks)
              for (s, m, p) in shown}
    tutorial = report.accuracy_by_k(tables[(SMALL, "l1", "none")], [1])[0]
    fig = accuracy_curves(curves, ks, {f"TF1 tutorial setting: {tutorial:.1%}": (1, tutorial)})
    st.plotly_chart(fig, width="stretch", key="curves")
    best = max(curves.items(), key=lambda kv: kv[1].max())
    st.caption(f"Solid: all 60,000 training and 10,000 test digits. Dotted: the TF1 tutorial's 5,000 / 200 "
               f"(one seeded draw, so it jumps: 200 test digits make 0.5% steps). Best: {best[0]} at "
               f"k={int(np.argmax(best[1])) + 1}, {best[1].max():.2%}.")


def confusion_section(tables):
    table = tables[(FULL, "l1", DEFAULT_PIPELINE)]
    st.subheader(f"Where it fails (L1, {PIPELINE_NAMES[DEFAULT_PIPELINE]}, 60,000 / 10,000)")
    k = st.slider("k for this section", 1, report.K_MAX, DEFAULT_K, key="eval_k", help="The main page's default.")
    pred = report.predictions(table, k)
    truth = table["truth"]
    m = report.confusion(truth, pred)
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
    data = mnist()
    refs = index_for(60000, "l1", DEFAULT_PIPELINE)[1]  # the main page's index: its copies' pictures
    for r in rows[:limit]:
        test_row = int(table["test_rows"][r])
        pos = table["positions"][r, :k]
        images = [data.test_images[test_row]] + [refs.picture(int(i), data) for i in pos]
        labels = [t] + [int(v) for v in table["labels"][r, :k]]
        caps = [f"test #{test_row}"] + [f"#{refs.rows[i]}{refs.mark(i)} · {d:,.0f}" for i, d in
                                         zip(pos, table["distances"][r, :k])]
        gallery(images, labels, caps, prediction=p, per_row=min(k + 1, 12), size=56)
    if len(rows) > limit:
        st.caption(f"... and {len(rows) - limit} more.")
    marks = refs.mark_notes(table["positions"][rows[:limit], :k])
    if marks:
        st.caption(" ".join(marks))


def map_section():
    st.subheader("The training set on a map")
    last = st.session_state.get("last")
    pipeline = last["preprocess"] if last is not None else "thicken"
    pca = report.pca_map(mnist(), pipeline, checksum())
    data = mnist()
    sample = np.random.default_rng(0).choice(len(data.train_labels), MAP_POINTS, replace=False)
    you = nbs = None
    if last is not None:
        you = report.project(pca, last["query"])
        nbs = report.project(pca, last["neighbours"])
    fig = pca_scatter(pca["coords"][sample], data.train_labels[sample], you, nbs, pca["explained"])
    st.plotly_chart(fig, width="stretch", key="map")
    if last is None:
        st.caption("The first two principal components of the deskewed training digits' pixels, 6,000 of them. "
                   "Draw a digit on the main page and it appears here as a star, with its nearest neighbours circled.")
    else:
        st.caption(f"The star is your last drawing (read as {last['prediction']}); circles are its nearest neighbours. "
                   "The map shows pixels (as the pipeline made them), and two components keep only part of the "
                   "picture: neighbours may look far apart here, all the more so with learned features.")


def main():
    st.title("How good is nearest-neighbour, and where does it fail?")
    extra = st.checkbox("Add the best pixel pipeline (thicken) to the curves", key="with_thicken",
                        help="Deskewed, thickened pixels and their thicker copies: 120,000 vectors. Its tables take "
                             "about six minutes once on two cores, then they are kept on disk like the others.")
    shown = curves_for(SHOWN + (("thicken",) if extra else ()))
    try:
        tables = load_tables(shown)
    except DataError as e:
        st.error(f"The MNIST data could not be loaded: {e}")
        st.stop()
    except WeightsError as e:
        st.error(f"The learned features are not available: {e}")
        st.stop()
    curves_section(tables, shown)
    confusion_section(tables)
    map_section()


main()

"""The app: ``streamlit run app.py``. Three pages in ``ui/``: Draw (``/``), Evaluate (``/Evaluate``), Room (``/Room``).

This entry point runs on every page view. The first view of a fresh server
starts the builder of the shipped index (:mod:`ui.warmup`, which imports no
TensorFlow) and shows its progress while TensorFlow is imported; then the
page is set up (:func:`ui.resources.setup`) and the visitor's page runs.
"""

import streamlit as st

from ui import warmup

st.set_page_config(page_title="k-NN digits", page_icon="✍️", layout="wide")
warmup.wait_imports(st.empty())  # made on every run: the page's elements keep their places

from ui import resources  # noqa: E402  (the builder has imported TensorFlow)

resources.setup()
st.navigation([
    st.Page("ui/draw_page.py", title="Draw", icon=":material/draw:", default=True),
    st.Page("ui/evaluate_page.py", title="Evaluate", icon=":material/bar_chart:", url_path="Evaluate"),
    st.Page("ui/room_page.py", title="Room", icon=":material/groups:", url_path="Room"),
]).run()

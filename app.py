"""The app: ``streamlit run app.py``. Three pages in ``ui/``: Draw (``/``), Evaluate (``/Evaluate``), Room (``/Room``).

This entry point runs on every page view. The first view of a fresh server
starts the builder of the shipped index (:mod:`ui.warmup`, which imports no
TensorFlow). Draw and Evaluate show its progress while TensorFlow is
imported, then the page is set up (:func:`ui.resources.setup`) and runs. The
Room page reads no digit, so it runs at once while the builder works.
"""

import streamlit as st

from ui import warmup

st.set_page_config(page_title="k-NN digits", page_icon="✍️", layout="wide")
progress = st.empty()  # made on every run: the page's elements keep their places
room = st.Page("ui/room_page.py", title="Room", icon=":material/groups:", url_path="Room")
page = st.navigation([
    st.Page("ui/draw_page.py", title="Draw", icon=":material/draw:", default=True),
    st.Page("ui/evaluate_page.py", title="Evaluate", icon=":material/bar_chart:", url_path="Evaluate"),
    room,
])
if page.url_path == room.url_path:
    warmup.get()  # started for the phones that will draw
else:
    warmup.wait_imports(progress)

    from ui import resources  # imported once the line is drawn: nothing heavy before it

    resources.setup()
page.run()

"""The app: ``streamlit run app.py``. Three pages in ``ui/``: Draw (``/``), Evaluate (``/Evaluate``), Room (``/Room``).

This entry point runs on every page view: it sets the page up once
(:func:`ui.resources.setup`) and hands over to the page the visitor chose.
"""

import streamlit as st

from ui import resources

st.set_page_config(page_title="k-NN digits", page_icon="✍️", layout="wide")
resources.setup()
st.navigation([
    st.Page("ui/draw_page.py", title="Draw", icon=":material/draw:", default=True),
    st.Page("ui/evaluate_page.py", title="Evaluate", icon=":material/bar_chart:", url_path="Evaluate"),
    st.Page("ui/room_page.py", title="Room", icon=":material/groups:", url_path="Room"),
]).run()

"""A session the server lost, picked up where the visitor's page left it.

Streamlit keeps a visitor's session in the server's memory for an hour
after their browser drops the connection (``.streamlit/config.toml``). It is
lost anyway when that server restarts, when the replica serving it stops
(nginx then sends the browser to another one), or after the hour. The
browser still shows the old session's page, and its next tap starts a new
session with the values of every widget on that page: the strokes on the
canvas, the settings, the button just pressed.

Two things would go wrong there, and this module is what prevents them:

- The canvas sits under a key (:func:`canvas_key`, ``canvas-280-3``) that
  :func:`new_canvas` changes with each Clear. A new session counting from 0
  would draw an empty canvas under another key and so lose the visitor's
  drawing; :func:`canvas_generation` starts from the key the browser's canvas has.
- Streamlit runs a button's ``on_click`` only in the session that drew the
  button, so the first tap would do nothing but start the new session.
  :func:`action_button` runs the action then too (the button's own value
  says it was pressed) and runs the page again with it.

Streamlit has no public call for the values a browser sent under keys this
session has not drawn yet; :func:`browser_keys` reads them where Streamlit
1.x keeps them, and finds none where it does not (the page then starts
afresh, as before).
"""

from __future__ import annotations

import re

import streamlit as st

CANVAS_KEY = re.compile(r"canvas-\d+-(\d+)")  # the keys canvas_key() gives: canvas-<width>-<generation>


def browser_keys() -> set:
    """The keys of the widgets whose values the browser sent with this run, drawn by this session or not."""
    try:
        from streamlit.runtime.scriptrunner import get_script_run_ctx
        from streamlit.runtime.state.common import user_key_from_element_id

        ids = get_script_run_ctx().session_state._state._new_widget_state.states
        return {key for key in map(user_key_from_element_id, list(ids)) if key}
    except Exception:  # another Streamlit's internals: nothing to pick up
        return set()


def canvas_generation() -> int:
    """The canvas's generation (how many times it was cleared): this session's, or, on a session's first run,
    that of the canvas on the browser's page (0 on a new page)."""
    if "canvas_gen" not in st.session_state:
        found = [int(m.group(1)) for m in map(CANVAS_KEY.fullmatch, browser_keys()) if m]
        st.session_state["canvas_gen"] = max(found, default=0)
    return st.session_state["canvas_gen"]


def canvas_key(width: int) -> str:
    """The key the canvas ``width`` pixels wide is drawn under now: a new one after each :func:`new_canvas`."""
    return f"canvas-{width}-{canvas_generation()}"


def new_canvas() -> None:
    """From the next run on, the canvas is drawn under a new key: a new canvas, empty or with what it is given."""
    st.session_state["canvas_gen"] = canvas_generation() + 1


def action_button(where, label: str, *, key: str, action, args: tuple = (), **kwargs) -> bool:
    """``where.button`` whose ``action(*args)`` runs before the page runs again, as ``on_click`` does, and
    also when the press comes from a page a lost session drew: then it runs here, and the page runs again
    at once with it. Returns whether the button was pressed."""
    def pressed():
        st.session_state["_pressed"] = key  # one press a run: the key of the button whose on_click ran
        action(*args)

    if not where.button(label, key=key, on_click=pressed, **kwargs):
        return False
    if st.session_state.get("_pressed") == key:
        del st.session_state["_pressed"]
        return True
    action(*args)  # the press reached a session that had not drawn this button: no on_click ran
    st.rerun()

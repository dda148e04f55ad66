"""``streamlit run`` that logs how long the server takes to answer each rerun request (for load.py).

Streamlit says nothing about its own response times, so this wraps two of
its session methods: one called when a browser's rerun request (a stroke, a
click) reaches the server, one when a script run has finished. For every
run that finishes normally it appends one line to ``$KNN_RUN_LOG``:
``<request arrived> <run finished>`` (``time.time()`` seconds), from the
oldest request that run answered. That is the server's part of a visitor's
wait, free of the browser's own rendering.

    KNN_RUN_LOG=runs.log python benchmarks/timed_server.py run app.py [streamlit options]

These are private Streamlit methods; if a Streamlit release renames them,
the server still runs and nothing is logged (load.py then says so).
"""

import os
import sys
import threading
import time

LOG = os.environ.get("KNN_RUN_LOG")


def install(log_path: str) -> bool:
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from streamlit.runtime.app_session import AppSession

    asked = getattr(AppSession, "_handle_rerun_script_request", None)
    finished = getattr(AppSession, "_create_script_finished_message", None)
    if asked is None or finished is None:
        return False
    pending = {}  # session id -> arrival of its oldest unanswered request
    lock = threading.Lock()

    def on_request(self, *args, **kwargs):
        with lock:
            pending.setdefault(self.id, time.time())
        return asked(self, *args, **kwargs)

    def on_finished(self, status, *args, **kwargs):
        if status == ForwardMsg.ScriptFinishedStatus.FINISHED_SUCCESSFULLY:
            with lock:
                start = pending.pop(self.id, None)
            if start is not None:
                with open(log_path, "a") as f:
                    f.write(f"{start:.4f} {time.time():.4f}\n")
        return finished(self, status, *args, **kwargs)

    AppSession._handle_rerun_script_request = on_request
    AppSession._create_script_finished_message = on_finished
    return True


if __name__ == "__main__":
    if LOG:
        install(LOG)
    from streamlit.web.cli import main

    sys.exit(main(prog_name="streamlit"))

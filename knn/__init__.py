"""Exact k-nearest-neighbour digit recognition on MNIST, in TensorFlow 2.

The modules, from the ground up: ``data`` (MNIST on disk), ``engine`` (the
exact k-NN index), ``preprocess`` and ``strokes`` (any picture to MNIST's
format), ``figures`` (pictures and charts from arrays), ``cache`` (results on
disk); ``augment`` and ``learned`` (the learned feature space); ``spaces``
(what is compared), ``origins`` and ``references`` (the digits an index
holds); ``conformal`` (how sure an answer is), ``answer`` (one picture's
answer), ``evaluate``, ``drawn``, ``pen``, ``scans`` and ``omniglot``
(accuracy and certainty on MNIST, drawings, scans and non-digits),
``tables`` (the Evaluate page's results), ``bench``;
the command line is ``python -m knn``.
"""

import os

# TensorFlow reads its log level when it is first imported; every entry point imports knn first.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

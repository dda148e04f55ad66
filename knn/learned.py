"""A learned feature space for k-NN: two small CNNs trained on MNIST with heavy augmentation.

Each network (four 3x3 convolutions, two max-pools, a 64-number ReLU
embedding and a 10-way softmax head used only for training) learns which
differences between digits matter: stroke thickness, slant, size and small
rotations do not. k-NN then runs on the two embeddings side by side (128
numbers) instead of on 784 pixels, so an L1 distance is the sum of the two
networks' distances: the nearest training digits are still MNIST digits (or
marked copies of them), shown with their distances in that space. The two
are trained alike but for one thing (:data:`MEMBERS`): one sees every batch
augmented, the other half of each batch as written, from another seed.
Their mistakes differ, so together they misread fewer digits than either
(docs/results.md).

* :func:`train` trains one network (seeded) on digits varied by
  :mod:`knn.augment`; :func:`train_members` trains every member
  (``python -m knn train``) and returns their weights in one dict;
  :func:`save` writes it as a plain ``.npz`` (no pickle) to WEIGHTS_FILE.
* The shipped networks (WEIGHTS_FILE) also learned from every real pen
  digit (:mod:`knn.pen`), drawn as written and as other writers might
  (:func:`knn.augment.vary_strokes`). A figure about pen writers must come
  from networks that never saw them: the folder beside it holds networks
  trained without some writers (each file lists them) and networks trained
  on MNIST alone, and :func:`weights_without` picks the file to read given
  writers with.
* :class:`Network` is one trained CNN; :class:`Embedder` loads the members
  and turns (n, 28, 28) uint8 MNIST-format images into (n, 128) uint8
  vectors: each network's float embedding divided by a scale fixed at
  training time (its 99.9th percentile over the training digits maps to
  255), so the exact integer engine (:class:`knn.engine.Index`) searches
  them like any other vectors.

:mod:`knn.spaces` makes this the "learned" comparison space.
"""

from __future__ import annotations

import functools
import math
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np
from knn.tf import tf

from knn import progress as knn_progress
from knn.augment import augment, stylise
from knn.preprocess import SIDE

FEATURES = 64  # one network's embedding: numbers it gives a digit
BATCH = 128  # digits per training step


@dataclass(frozen=True)
class Member:
    """One network of the learned space: how it is trained apart from the others."""

    seed_offset: int  # its seed is the training seed plus this
    clean: float  # share of each batch shown as written, not augmented


MEMBERS = (  # chosen on 5,000 held-out training digits (docs/results.md, "Two networks")
    Member(0, 0.0),  # every batch augmented: any pen, any style
    Member(1, 0.5),  # half of each batch as written: sharper on digits like MNIST's
)
WEIGHTS_FILE = Path(__file__).resolve().parent / "weights" / "embedding.npz"  # the shipped networks


class WeightsError(ValueError):
    """The embedding's weights are missing or unreadable; the message says what to run."""


def _unreadable(path, error) -> WeightsError:
    return WeightsError(f"The learned features' weights at {path} cannot be read ({error}); "
                        f"train them with `python -m knn train`.")


def build_model(dim: int = FEATURES) -> tf.keras.Model:
    """The CNN: (n, 28, 28, 1) float 0-1 -> class logits (n, 10); its layer "embedding" is the feature space.

    No batch normalisation: its running statistics would come from augmented
    (thicker, rotated) batches and misfit clean digits at inference.
    """
    L = tf.keras.layers
    x = inp = tf.keras.Input((SIDE, SIDE, 1))
    for filters in (32, 64):
        for _ in range(2):
            x = L.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = L.MaxPool2D()(x)
    x = L.Flatten()(x)
    x = L.Dropout(0.3)(x)
    emb = L.Dense(dim, activation="relu", name="embedding")(x)
    out = L.Dense(10, name="logits")(L.Dropout(0.2)(emb))
    return tf.keras.Model(inp, out)


def train(images: np.ndarray, labels: np.ndarray, epochs: int = 6, seed: int = 0, batch: int = BATCH,
          dim: int = FEATURES, clean: float = 0.0,
          progress: Optional[Callable[[int, int, float], None]] = None) -> dict:
    """Train one CNN on (n, 28, 28) uint8 digits; return its weights as a dict of arrays.

    Adam with a cosine-decayed learning rate, cross-entropy with 0.1 label
    smoothing; in every batch half the 1s, 7s and 9s take their
    :func:`stylise` copy, then everything is augmented (:func:`augment`)
    except a share ``clean`` of the digits, shown as written. Seeded: the same
    seed gives the same shuffles and augmentations. ``progress(step, steps,
    loss)`` is called after every step.
    """
    if not 0 <= clean < 1:
        raise ValueError(f"clean must be at least 0 and below 1; got {clean}")
    tf.keras.utils.set_random_seed(seed)
    model = build_model(dim)
    n = len(labels)
    steps_per_epoch = math.ceil(n / batch)
    steps = epochs * steps_per_epoch
    lr = tf.keras.optimizers.schedules.CosineDecay(2e-3, steps, alpha=0.02)
    opt = tf.keras.optimizers.Adam(lr)
    loss_fn = tf.keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)
    x_all = tf.constant(np.asarray(images, np.uint8).reshape(n, SIDE, SIDE, 1))
    styled = tf.constant(stylise(images, labels, seed).reshape(n, SIDE, SIDE, 1))
    y_all = tf.constant(np.asarray(labels, np.int64))

    @tf.function(jit_compile=False, reduce_retracing=True)
    def step(idx, s):
        use = tf.random.stateless_uniform((tf.size(idx), 1, 1, 1), s + 7919) < 0.5
        x = tf.where(use, tf.gather(styled, idx), tf.gather(x_all, idx))
        x = augment(tf.cast(x, tf.float32) / 255.0, s)
        if clean:  # these digits as written, neither styled nor augmented
            plain = tf.random.stateless_uniform((tf.size(idx), 1, 1, 1), s + 104729) < clean
            x = tf.where(plain, tf.cast(tf.gather(x_all, idx), tf.float32) / 255.0, x)
        y = tf.one_hot(tf.gather(y_all, idx), 10)
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        return loss

    rng = np.random.default_rng(seed)
    done = 0
    for epoch in range(epochs):
        order = rng.permutation(n)
        for s in range(0, n - batch + 1, batch):  # full batches only: one compiled shape
            loss = step(tf.constant(order[s:s + batch]), tf.constant([seed, done], tf.int64))
            done += 1
            if progress:
                progress(done, epochs * (n // batch), float(loss))
    weights = {f"w{i:02d}": v.numpy() for i, v in enumerate(model.weights)}
    weights["seed"], weights["epochs"], weights["dim"] = np.int64(seed), np.int64(epochs), np.int64(dim)
    emb = Network(weights, scale=1.0).features(images)
    weights["scale"] = np.float32(np.percentile(emb, 99.9) / 255.0)
    weights["clean"] = np.float32(clean)
    return weights


def train_members(images: np.ndarray, labels: np.ndarray, epochs: int = 6, seed: int = 0,
                  progress: Optional[Callable[[int, int, float], None]] = None, members=MEMBERS) -> dict:
    """Train every member (:func:`train`, its seed ``seed + seed_offset``) in turn; one dict of weights,
    member i's arrays under "i.<name>". ``progress(step, steps, loss)`` counts the steps of all."""
    per = epochs * (len(labels) // BATCH)  # steps per network: full batches only
    out = {"members": np.int64(len(members))}
    for i, m in enumerate(members):
        report = None if progress is None else functools.partial(_counted, progress, i * per, len(members) * per)
        w = train(images, labels, epochs, seed + m.seed_offset, clean=m.clean, progress=report)
        out.update({f"{i}.{k}": v for k, v in w.items()})
    return out


def _counted(progress, before: int, steps: int, step: int, _, loss: float) -> None:
    progress(before + step, steps, loss)


def split(weights: dict) -> list:
    """The members' weights, one dict each, from a file of several ("i.<name>") or of one network."""
    if "members" not in weights:
        return [weights]
    return [{k.split(".", 1)[1]: v for k, v in weights.items() if k.startswith(f"{i}.")}
            for i in range(int(weights["members"]))]


def save(weights: dict, path=None) -> Path:
    """Write weights atomically as an uncompressed .npz (default: WEIGHTS_FILE)."""
    path = Path(path or WEIGHTS_FILE)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{time.time_ns()}.tmp.npz")
    np.savez(tmp, **weights)
    tmp.replace(path)
    return path


def load(path=None) -> dict:
    """Read weights written by :func:`save` (default: WEIGHTS_FILE); WeightsError if missing or unreadable."""
    path = Path(path or WEIGHTS_FILE)
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise _unreadable(path, e) from None


def _batches(images: np.ndarray, batch: int, run, dims: list) -> list:
    """Run ``run`` on (n, 28, 28) uint8 images, ``batch`` at a time, the last batch padded so a big input is
    traced once: a list of (n, d) float32 arrays, one per output of ``run``."""
    x = np.asarray(images, np.uint8).reshape(-1, SIDE, SIDE, 1)
    out = [[np.zeros((0, d), np.float32)] for d in dims]
    for s in range(0, len(x), batch):
        part = x[s:s + batch]
        pad = batch - len(part) if len(x) > batch else 0
        xb = np.concatenate([part, np.zeros((pad, SIDE, SIDE, 1), np.uint8)]) if pad else part
        for o, y in zip(out, run(tf.constant(xb.astype(np.float32) / 255.0))):
            o.append(y.numpy()[:len(part)])
        knn_progress.report("learned features", s + len(part), len(x))
    return [np.concatenate(o) for o in out]


class Network:
    """One trained CNN: its float embedding, its scale, and its own softmax."""

    def __init__(self, weights: dict, scale: Optional[float] = None):
        self.dim = int(weights.get("dim", FEATURES))
        model = build_model(self.dim)
        arrays = [weights[k] for k in sorted(k for k in weights if k.startswith("w"))]
        try:
            model.set_weights(arrays)
        except ValueError as e:
            raise WeightsError(f"The learned features' weights do not fit the network ({e}); "
                               f"train them again with `python -m knn train`.") from None
        self.scale = float(weights["scale"] if scale is None else scale)
        self.embedding = tf.keras.Model(model.input, model.get_layer("embedding").output)
        self.logits = model
        self._run = tf.function(self._embed, reduce_retracing=True)

    def _embed(self, x):
        return [self.embedding(x, training=False)]

    def features(self, images: np.ndarray, batch: int = 256) -> np.ndarray:
        """(n, 28, 28) uint8 -> (n, dim) float32 embedding, not yet scaled."""
        return _batches(images, batch, self._run, [self.dim])[0]


class Embedder:
    """MNIST-format images -> the members' learned features side by side, (n, 128) uint8."""

    def __init__(self, weights: Optional[dict] = None):
        weights = load() if weights is None else weights
        try:
            self.networks = [Network(w) for w in split(weights)]
        except KeyError as e:
            raise WeightsError(f"The learned features' weights lack {e}; train them again with "
                               f"`python -m knn train`.") from None
        self.dim = sum(n.dim for n in self.networks)
        self._run = tf.function(self._embed, reduce_retracing=True)

    def _embed(self, x):
        return [n.embedding(x, training=False) for n in self.networks]

    def features(self, images: np.ndarray, batch: int = 256) -> np.ndarray:
        """(n, 28, 28) uint8 -> (n, dim) float32: each network's embedding over its scale, side by side,
        in batches of ``batch`` (256 measured fastest on 2 cores)."""
        parts = _batches(images, batch, self._run, [n.dim for n in self.networks])
        return np.concatenate([p / n.scale for p, n in zip(parts, self.networks)], 1)

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """(n, 28, 28) uint8 -> (n, dim) uint8: the features on the engine's 0-255 scale."""
        return np.rint(np.clip(self.features(images), 0, 255)).astype(np.uint8)

    def classify(self, images: np.ndarray) -> np.ndarray:
        """The networks' own answer (n,), their softmax averaged, for comparison with k-NN in their space."""
        x = np.asarray(images, np.float32).reshape(-1, SIDE, SIDE, 1) / 255.0
        p = sum(tf.nn.softmax(n.logits.predict(x, batch_size=1024, verbose=0)).numpy() for n in self.networks)
        return np.argmax(p, 1)


def fingerprint(path=None) -> str:
    """A short checksum of the weights file (default: WEIGHTS_FILE): caches of learned neighbours depend on it."""
    import hashlib

    path = path or WEIGHTS_FILE
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
    except OSError as e:
        raise _unreadable(path, e) from None


def _record(path, *names: str) -> dict:
    """Some of the arrays a weights file (default: WEIGHTS_FILE) holds about its training, by name: those it has."""
    path = Path(path or WEIGHTS_FILE)
    try:
        with np.load(path, allow_pickle=False) as f:
            return {n: f[n] for n in names if n in f.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise _unreadable(path, e) from None


def never_saw(path=None) -> Optional[frozenset]:
    """The pen writers a weights file (default: WEIGHTS_FILE) was trained without: those its "held_out" lists
    when it learned from pen digits ("pen" true), None when it learned from none (it never saw any writer)."""
    r = _record(path, "pen", "held_out")
    if not bool(r.get("pen", False)):
        return None
    return frozenset(int(w) for w in r.get("held_out", ()))


def set_aside(path=None) -> Optional[np.ndarray]:
    """The MNIST training rows a weights file's networks (default: WEIGHTS_FILE) were trained without, set
    aside to calibrate their certainty on digits they never learned ("calibration"); None if it names none."""
    rows = _record(path, "calibration").get("calibration")
    return np.sort(rows.astype(np.int64)) if rows is not None and len(rows) else None


def weights_without(writers=frozenset(), folder=None) -> Path:
    """The committed networks that never saw any of these pen writers, to read their digits with.

    With no writers, WEIGHTS_FILE; with None (every writer there is), the
    networks trained on MNIST alone. Otherwise, of the files in ``folder``
    (default: WEIGHTS_FILE's) trained without all of them (:func:`never_saw`),
    the one that learned from the most pen digits: the fewest writers held
    out, then networks trained on MNIST alone. Raises WeightsError when no
    file qualifies.
    """
    if writers is not None:
        writers = frozenset(int(w) for w in writers)
        if not writers:
            return WEIGHTS_FILE
    return _covering(writers, Path(folder) if folder is not None else WEIGHTS_FILE.parent)


@functools.lru_cache(maxsize=None)
def _covering(writers: Optional[frozenset], folder: Path) -> Path:
    fits = []
    for path in sorted(folder.glob("*.npz")):
        out = never_saw(path)
        if out is None or (writers is not None and writers <= out):
            fits.append((out is None, len(out or ()), path.name, path))
    if fits:
        return min(fits)[3]
    if writers is None:
        raise WeightsError(f"No networks in {folder} were trained on MNIST alone; train them with "
                           f"`python -m knn train --out {folder}/mnist.npz`.")
    raise WeightsError(f"No networks in {folder} were trained without pen writers {sorted(writers)}; train "
                       f"them with `python -m knn train --pen --without {','.join(map(str, sorted(writers)))} "
                       f"--out {folder}/<name>.npz`.")


@functools.lru_cache(maxsize=4)
def embedder(path=None) -> Embedder:
    """The Embedder of a weights file (default: WEIGHTS_FILE), loaded once per process and file."""
    return Embedder(load(path))

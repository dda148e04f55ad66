"""Command line: ``python -m knn evaluate|predict|bench|train ...`` (``--help`` on each).

Errors a user can cause (missing data, unreadable files, bad k) end in one
line on stderr and exit status 1; ``--json`` prints machine-readable results.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

if "--verbose" in sys.argv[1:]:  # before TensorFlow loads: let its start-up lines through (knn/tf.py)
    os.environ["KNN_VERBOSE"] = "1"
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"

from knn import spaces  # noqa: E402
from knn.answer import OWN_RADIUS  # noqa: E402
from knn.conformal import LEVEL, SET_ASIDE, check_level  # noqa: E402
from knn.data import DataError, load_mnist  # noqa: E402
from knn.engine import METRICS, VOTING  # noqa: E402
from knn.evaluate import NUMBERS  # noqa: E402


def _progress_bar(desc: str, enabled: bool):
    """A tqdm bar as a (done, total) callback, or None when disabled."""
    if not enabled:
        return None, lambda: None
    from tqdm import tqdm

    bar = tqdm(desc=desc, unit="q", file=sys.stderr, dynamic_ncols=True)

    def update(done, total):
        bar.total = total
        bar.update(done - bar.n)

    return update, bar.close


def _common(p: argparse.ArgumentParser) -> None:
    p.formatter_class = argparse.ArgumentDefaultsHelpFormatter
    p.add_argument("--data", metavar="DIR", help="folder with the four MNIST IDX files (default: $MNIST_DIR, then the Keras cache, then download)")
    p.add_argument("--space", choices=spaces.NAMES, default="default",
                   help="what is compared: " + "; ".join(f"'{s.name}': {s.summary}" for s in spaces.SPACES.values())
                   + f"; 'default': the best measured ('{spaces.DEFAULT.name}')")
    p.add_argument("--k", type=int, default=None, help="neighbours that vote (default: the space's own, measured best: "
                   + ", ".join(f"{s.name} {s.default_k}" for s in spaces.SPACES.values()) + ")")
    p.add_argument("--metric", choices=METRICS, default="l1", help="distance")
    p.add_argument("--voting", choices=VOTING, default="uniform",
                   help="'uniform': one vote per neighbour; 'distance': 1 / (distance + 1)")
    p.add_argument("--level", type=float, default=LEVEL,
                   help="level of the prediction sets: the share of real digits whose set holds their label")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")


def _say_note(refs) -> None:
    if refs.note:
        print(f"note: no real pen digits as references ({refs.note}); MNIST alone", file=sys.stderr)


def _pen_data(p: argparse.ArgumentParser) -> None:
    p.add_argument("--pen-data", metavar="DIR", help="folder with pendigits-orig.tra.gz, real pen digits the learned "
                   "space holds as references and --set pen measures; 'off': MNIST alone (default: $PENDIGITS_DIR, "
                   "then pendigits beside $MNIST_DIR, then ../shared/data/pendigits, then a copy downloaded before, "
                   "then the public UCI copy)")


def _certainty_line(e) -> str:
    return (f"  prediction sets at {e.level:.0%}: coverage {e.coverage:.2%}, mean size {e.set_size:.3f}; "
            f"answered 'not a digit': {e.flagged:.2%}")


def _report_drawings(e, refs, errors_png) -> None:
    """Print a drawn, pen or scan evaluation; save its misread pictures as a contact sheet."""
    what = {"drawn": "drawn digits", "pen": "real pen digits", "scans": "scanned digits, as uploads"}[e.set]
    print(f"{what}: accuracy {e.accuracy:.2%} ({e.errors} errors in {e.n}); "
          f"{refs.n_train} training digits ({len(refs)} vectors), k={e.k}, {e.metric}, "
          f"space={e.space}, voting={e.voting}; {e.seconds:.1f} s")
    if e.set == "pen":
        print("  references: MNIST alone, no writer's own digits (--folds F measures with the other writers' digits in)")
    elif refs.writers is not None:
        print(f"  references: {'; '.join(refs.sets)}")
    if e.set == "scans":
        print("  by digit:     " + ", ".join(f"{d} {v:.1%}" for d, v in e.by_digit.items()))
    else:
        print("  by pen width: " + ", ".join(f"{w} px {v:.1%}" for w, v in e.by_width.items()))
        print("  by size:      " + ", ".join(f"{b} {v:.1%}" for b, v in e.by_size.items()))
        print("  by group:     " + ", ".join(f"{g} {v:.1%}" for g, v in e.by_group.items()))
    print(_certainty_line(e))
    if e.set != "scans":
        print("  'not a digit' by pen width: " + ", ".join(f"{w} px {v:.1%}" for w, v in e.flagged_by_width.items()))
    print("  confusion (rows: true digit, columns: read as; errors only):")
    for t, row in enumerate(e.confusion):
        print(f"    {t}: " + " ".join(f"{'.' if t == p or not v else v:>4}" for p, v in enumerate(row)))
    if errors_png:
        from knn.figures import contact_sheet

        wrong = e.predictions != e.labels
        contact_sheet(e.images[wrong], [f"{t}>{p}" for t, p in zip(e.labels[wrong], e.predictions[wrong])]).save(errors_png)
        print(f"  the {int(wrong.sum())} misread pictures (as the engine saw them, true>read): {errors_png}")


def _report_non_digits(e) -> None:
    print(f"not digits ({e.n} characters of other alphabets): answered 'not a digit' {e.flagged:.1%} "
          f"(every alphabet but {e.lookalike}); {e.lookalike}, whose letters include digit look-alikes: "
          f"{e.lookalike_flagged:.1%}; space={e.space}; {e.seconds:.1f} s")
    print("  by alphabet:  " + ", ".join(f"{a} {v:.1%}" for a, v in e.by_alphabet.items()))
    print("  by pen width: " + ", ".join(f"{w} px {v:.1%}" for w, v in e.by_width.items()))
    print(f"  prediction set at {e.level:.0%} empty (no digit fits): {e.empty_sets:.1%}")


def _report_numbers(evaluations, refs) -> None:
    print(f"numbers, one picture each, split into digits and read left to right; {refs.n_train} training digits, "
          f"k={evaluations[0].k}, space={evaluations[0].space}; pen numbers with MNIST alone as references (--folds F: "
          f"with the other writers' digits in), scan numbers with the shipped references")
    for e in evaluations:
        lengths = ", ".join(f"{n} digits {v:.1%}" for n, v in e.by_length.items())
        print(f"  {e.set}: {e.n} strings of 2-4 digits read exactly {e.exact:.2%} ({lengths}); split into the right "
              f"count {e.split_right:.2%}; their digits {e.digit_accuracy:.2%}; {e.n_single} single digits "
              f"{e.single:.2%} (read whole: {e.single_whole:.2%}); {e.seconds:.0f} s")


def _evaluate_folds(a, mnist, digits) -> int:
    """``evaluate --set pen|numbers --folds F``: writer-disjoint folds, the other folds' pen digits as references."""
    from knn.evaluate import evaluate_folds

    pen = digits[0] if a.set == "numbers" else digits
    e = evaluate_folds(mnist, pen, a.folds, a.space, a.metric, "pen" if a.set == "pen" else "pen numbers",
                       a.n, a.seed, a.k, a.voting, a.level)
    if a.json:
        print(json.dumps(e.summary()))
        return 0
    what = "real pen digits" if a.set == "pen" else "numbers of 2-4 pen digits, read exactly"
    print(f"{what}, {a.folds} writer-disjoint folds (each measured with MNIST and the other folds' pen digits as "
          f"references): mean {e.mean:.2%}, range {e.low:.2%}-{e.high:.2%}; {e.n} measured; k={e.k}, "
          f"space={e.space}; {e.seconds:.0f} s")
    for f, (writers, acc, size) in enumerate(zip(e.folds, e.accuracy, e.references), 1):
        print(f"  fold {f}: writers {', '.join(map(str, writers))}: {acc:.2%} ({size:,} pen drawings in the index)")
    if e.flagged is not None:
        print(f"  answered 'not a digit': {e.flagged:.2%}")
    if e.by_width:
        print("  by pen width (mean, range): " + ", ".join(f"{w} px {m:.1%} ({lo:.1%}-{hi:.1%})"
                                                        for w, (m, lo, hi) in e.by_width.items()))
    return 0


def _evaluate_nested(a, mnist, digits) -> int:
    """``evaluate --set pen --folds F --nested``: settings chosen on inner folds, each outer fold measured once."""
    from knn.evaluate import evaluate_nested, setting_name

    e = evaluate_nested(mnist, digits, a.folds, a.space, a.metric, seed=a.seed, voting=a.voting)
    if a.json:
        print(json.dumps(e.summary()))
        return 0
    print(f"real pen digits, {a.folds} nested writer-disjoint folds (k and the copies chosen on the other writers' "
          f"inner folds, then each fold measured once): mean {e.mean:.2%}, range {e.low:.2%}-{e.high:.2%}; "
          f"{e.n} measured; space={e.space}; {e.seconds:.0f} s")
    for f, (writers, chosen, inner, acc, shipped) in enumerate(zip(e.folds, e.chosen, e.inner, e.accuracy, e.shipped), 1):
        name = setting_name(chosen["k"], chosen["copies"])
        print(f"  fold {f}: writers {', '.join(map(str, writers))}: chose {name} (inner {inner[name]:.2%}); "
              f"{acc:.2%} (the shipped setting: {shipped:.2%})")
    print("  by pen width (mean, range): " + ", ".join(f"{w} px {m:.1%} ({lo:.1%}-{hi:.1%})"
                                                    for w, (m, lo, hi) in e.by_width.items()))
    return 0


def _evaluate_stream(a, mnist, digits) -> int:
    """``evaluate --set pen --folds F --stream``: writers correcting every miss at once, on nested folds."""
    from knn.stream import evaluate_stream

    e = evaluate_stream(mnist, digits, a.folds, a.space, a.metric, k=a.k, seed=a.seed, voting=a.voting,
                        level=a.level)
    if a.json:
        print(json.dumps(e.summary()))
        return 0
    print(f"real pen digits as streams, {a.folds} nested writer-disjoint folds (each writer draws all their digits "
          f"once, every misread one corrected at once and every other kept as read; the radius within which "
          f"their nearest own digit decides chosen on the other writers' streams): "
          f"{e.mean:.2%} read right (never taught: {e.untaught:.2%}); {e.n} digits by {e.writers} writers; "
          f"k={e.k}, space={e.space}; {e.seconds:.0f} s")
    for f, (writers, radius, inner, acc) in enumerate(zip(e.folds, e.chosen, e.inner, e.accuracy), 1):
        print(f"  fold {f}: writers {', '.join(map(str, writers))}: chose radius {radius:g} "
              f"(inner {inner[radius]:.2%}); {acc:.2%}")
    print(f"  corrections: {e.corrections_per_writer:.2f} per writer ({e.corrections_per_50:.2f} per 50 digits; "
          f"at most {e.most_corrections} by one writer)")
    print(f"  the {e.not_yet_taught[2]} digits of a class their writer had not corrected yet: "
          f"{e.not_yet_taught[0]:.2%} (never taught: {e.not_yet_taught[1]:.2%}); read right only with their own "
          f"digits {e.fixed}, only without {e.broke}")
    print(f"  prediction sets at {e.level:.0%} holding the truth: {e.coverage[0]:.2%} (never taught: {e.coverage[1]:.2%})")
    print("  by pen width (stream, never taught): " + ", ".join(f"{w} px {s:.1%} ({u:.1%})"
                                                           for w, (s, u) in e.by_width.items()))
    return 0


def cmd_evaluate(a) -> int:
    from knn.evaluate import evaluate_drawn, evaluate_mnist, evaluate_omniglot, evaluate_pen, evaluate_scans
    from knn.references import build

    check_level(a.level)
    if a.folds is not None and a.set not in ("pen", "numbers"):
        raise ValueError(f"--folds needs --set pen or --set numbers; got --set {a.set}")
    if a.nested and (a.set != "pen" or a.folds is None):
        raise ValueError("--nested needs --set pen and --folds F")
    if a.stream and (a.set != "pen" or a.folds is None or a.nested):
        raise ValueError("--stream needs --set pen and --folds F (it always chooses on nested folds; leave out --nested)")
    if a.nested and a.k is not None:
        raise ValueError(f"--nested chooses k itself (5, 7 or 9 per fold); leave out --k {a.k}")
    if a.set == "drawn" and a.per_width < 1:
        raise ValueError(f"--per-width must be at least 1; got {a.per_width}")
    digits = None
    if a.set == "omniglot":
        from knn.omniglot import load_omniglot

        digits = load_omniglot(a.omniglot_data)  # before MNIST and the index: a missing file fails fast
    if a.set == "scans":
        from knn.scans import load_scans

        digits = load_scans(a.scans_data)
    if a.set == "pen":
        from knn.pen import load_pendigits

        digits = load_pendigits(a.pen_data)  # before MNIST and the index: a missing file fails fast
        if a.n is not None and not 1 <= a.n <= len(digits):
            raise ValueError(f"--n must be between 1 and {len(digits)}; got {a.n}")
    if a.set == "numbers":
        from knn.pen import load_pendigits
        from knn.scans import load_scans

        if a.n is not None and a.n < 1:
            raise ValueError(f"--n must be at least 1; got {a.n}")
        digits = (load_pendigits(a.pen_data), load_scans(a.scans_data))
    mnist = load_mnist(a.data)
    if a.folds is not None:
        return (_evaluate_stream if a.stream else _evaluate_nested if a.nested else _evaluate_folds)(a, mnist, digits)
    # the shipped references; pen writers are measured without their own digits (--folds: with the others'),
    # and with networks that never saw any of them
    if a.set in ("pen", "numbers"):
        refs = build(mnist, spaces.get(a.space).trained_without(None), a.metric, a.train, a.seed)
    else:
        refs = build(mnist, a.space, a.metric, a.train, a.seed, pen="default", pen_data=a.pen_data)
    _say_note(refs)
    update, close = _progress_bar("evaluate", not a.json and sys.stderr.isatty())
    try:
        if a.set == "drawn":
            e = evaluate_drawn(refs, mnist, a.per_width, a.seed, a.k, a.voting, progress=update, level=a.level)
        elif a.set == "pen":
            e = evaluate_pen(refs, digits, a.n, a.seed, a.k, a.voting, progress=update, level=a.level)
        elif a.set == "omniglot":
            e = evaluate_omniglot(refs, digits, a.k, a.voting, progress=update, level=a.level)
        elif a.set == "scans":
            e = evaluate_scans(refs, digits, a.k, a.voting, progress=update, level=a.level)
        elif a.set == "numbers":
            from knn.evaluate import evaluate_numbers, pen_numbers, scan_numbers

            n = a.n or NUMBERS
            shipped = build(mnist, a.space, a.metric, a.train, a.seed, pen="default", pen_data=a.pen_data)
            e = [evaluate_numbers(refs, pen_numbers(digits[0], n, a.seed), "pen numbers", a.k, a.voting, update, n),
                 evaluate_numbers(shipped, scan_numbers(digits[1], n, a.seed), "scan numbers", a.k, a.voting, update, n)]
        else:
            e = evaluate_mnist(refs, mnist, a.test, a.seed, a.k, a.voting, progress=update, level=a.level)
    finally:
        close()
    if a.json:
        print(json.dumps([x.summary() for x in e] if isinstance(e, list) else e.summary()))
    elif a.set == "numbers":
        _report_numbers(e, refs)
    elif a.set == "mnist":
        print(f"accuracy {e.accuracy:.2%} ({e.errors} errors in {e.n_test} test digits); "
              f"{e.n_train} training digits ({e.index_size} vectors), k={e.k}, {e.metric}, space={e.space}, "
              f"voting={e.voting}; {e.seconds:.1f} s, {e.queries_per_second:.0f} queries/s")
        print(f"  references: {'; '.join(refs.sets)}")
        print(_certainty_line(e))
    elif a.set == "omniglot":
        _report_non_digits(e)
    else:
        _report_drawings(e, refs, a.errors)
    return 0


def cmd_predict(a) -> int:
    from knn.answer import predict_files, read_taught
    from knn.references import build

    check_level(a.level)
    taught = read_taught(spaces.get(a.space), a.metric, a.taught) if a.taught else None  # fails before the index
    refs = build(load_mnist(a.data), a.space, a.metric, pen="default", pen_data=a.pen_data)
    _say_note(refs)
    results = predict_files(refs, a.images, a.k, a.voting, a.level, taught=taught)
    if a.json:
        print(json.dumps(results))
    for r in results if not a.json else []:
        if "error" in r:
            print(f"{r['file']}: error: {r['error']}", file=sys.stderr)
            continue
        votes = ", ".join(f"{d}: {v:.0%}" for d, v in enumerate(r["votes"]) if v)
        print(f"{r['file']}: {r['prediction']}   (votes {votes})")
        digits = " or ".join(map(str, r["prediction_set"])) or "none"
        if r["decided_by"] is not None:
            print(f"    decided by yours #{r['decided_by']['index'] + 1} (a {r['decided_by']['label']}, distance "
                  f"{r['decided_by']['distance']:g}); the {len(r['neighbours'])} nearest shared references voted as above")
        print(f"    at {r['level']:.0%}: {digits}; credibility {r['credibility']:.1%}, confidence {r['confidence']:.1%}"
              + ("; this does not look like a digit" if r["not_a_digit"] else ""))
        if len(r["parts"]) > 1:
            print(f"    as a number: {r['digits']} ({len(r['parts'])} digits, left to right)")
        for nb in r["neighbours"]:
            variant = f", {nb['variant']}" if nb["variant"] else ""
            where = (f"pen digit #{nb['index']} (writer {nb['writer']})" if nb["source"] == "pen" else
                     f"yours #{nb['index'] + 1}" if nb["source"] == "taught" else f"training #{nb['index']:<5}")
            print(f"    {where}  label {nb['label']}  distance {nb['distance']:g}{variant}")
    return 1 if any("error" in r for r in results) else 0


def cmd_bench(a) -> int:
    from knn import bench
    from knn.references import build

    for name, value in (("--queries", a.queries), ("--single", a.single)):  # --k is checked in main()
        if value < 1:
            raise ValueError(f"{name} must be at least 1; got {value}")
    mnist = load_mnist(a.data)

    def extra():
        refs = build(mnist, pen="default")  # the shipped references, as the page searches them
        return (f"this engine, default space ({refs.space.name})", refs.index,
                refs.space.vectors(mnist.test_images[:a.queries]))

    say = None if a.json else (lambda s: print(f"measuring {s} ...", file=sys.stderr, flush=True))
    out = bench.run(mnist, a.queries, a.single, a.k, a.budget, extra=extra, progress=say)
    print(json.dumps(out) if a.json else bench_table(out))
    return 0


def bench_table(out: dict) -> str:
    """``bench``'s results as the table it prints: every engine's figures, then ours against each peer."""
    lines = [f"\nExact L1 k-NN, k={out['k']}, {out['n_train']} training digits x 784 pixels; {out['machine']}",
             f"{'engine':<36}{'batch q/s':>11}{'(queries)':>10}{'single p50':>12}{'p95':>9}{'index MB':>10}  exact"]
    for r in out["results"] + ([out["extra"]] if out["extra"] else []):
        if r["batch_qps"] is None:
            lines.append(f"{r['name']:<36}{r['note']}")
            continue
        exact = "" if r["exact"] is None else ("yes" if r["exact"] else "NO") + (
            "" if r["same_neighbours"] in (None, True) else " (tie order differs)")
        lines.append(f"{r['name']:<36}{r['batch_qps']:>11.0f}{r['batch_queries']:>10}{r['single_p50_ms']:>10.2f}ms"
                     f"{r['single_p95_ms']:>7.2f}ms{r['index_mb']:>10.0f}  {exact}")
    lines.append("\nthis engine / peer:")
    for name, v in out["ratios"].items():
        lines.append(f"  vs {name:<28} batch {v['batch']:.1f}x faster, single query {v['single_p50']:.1f}x faster (p50)")
    return "\n".join(lines)


def cmd_train(a) -> int:
    import time

    import numpy as np
    from tqdm import tqdm

    from knn import learned
    from knn.data import subset

    if a.epochs < 1:
        raise ValueError(f"--epochs must be at least 1; got {a.epochs}")
    if a.train is not None and a.train < 128:
        raise ValueError(f"--train must be at least 128 (one batch); got {a.train}")
    if a.calibration is not None and a.calibration < 0:
        raise ValueError(f"--calibration must be at least 0; got {a.calibration}")
    held = set()
    if a.without:
        from knn.pen import writers_of

        try:
            held = writers_of(a.without)
        except ValueError:
            raise ValueError(f"--without must list writer numbers such as '21-30' or '1,4,7'; got {a.without!r}") from None
    mnist = load_mnist(a.data)
    rows = subset(len(mnist.train_labels), a.train, a.seed)
    aside = min(SET_ASIDE, len(rows) // 10) if a.calibration is None else a.calibration
    if aside > len(rows) - 128:
        raise ValueError(f"--calibration must leave 128 digits to train on: at most {len(rows) - 128}; got {aside}")
    kept = rows[subset(len(rows), aside, a.seed)] if aside else rows[:0]
    rows = np.setdiff1d(rows, kept)
    images, labels = mnist.train_images[rows], mnist.train_labels[rows]
    if a.pen or a.without:
        from knn.pen import load_pendigits, pen_pictures

        digits, space = load_pendigits(a.pen_data), spaces.get("learned")
        for drawn in pen_pictures(space, digits), pen_pictures(space, digits, seed=1, varied=True):
            drawn = drawn.without(held)  # as written (the index's drawings), then as other writers might
            images, labels = np.concatenate([images, drawn.pictures]), np.concatenate([labels, drawn.labels])
    bar = tqdm(desc="train", unit="batch", file=sys.stderr, dynamic_ncols=True, disable=None)
    start = time.perf_counter()

    def update(step, steps, loss):
        bar.total = steps
        bar.set_postfix(loss=f"{loss:.3f}", refresh=False)
        bar.update(step - bar.n)

    try:
        weights = learned.train_members(images, labels.astype(np.int64), a.epochs, a.seed, progress=update)
    finally:
        bar.close()
    weights.update(pen=np.bool_(bool(a.pen or a.without)), held_out=np.array(sorted(held), np.int64),
                   calibration=kept.astype(np.int32))
    path = learned.save(weights, a.out or learned.WEIGHTS_FILE)
    net = learned.Embedder(weights)
    acc = float((net.classify(mnist.test_images) == mnist.test_labels).mean())
    print(f"trained {len(net.networks)} networks, {a.epochs} epochs each, on {len(labels)} digits "
          f"({len(kept)} MNIST training digits set aside to calibrate the certainty) in "
          f"{time.perf_counter() - start:.0f} s; their own softmax's test accuracy {acc:.2%}; "
          f"weights: {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m knn", description="Exact k-nearest-neighbour digit recognition on MNIST.")
    sub = parser.add_subparsers(dest="command", required=True)
    ev = sub.add_parser("evaluate", help="accuracy and certainty on the MNIST test set, drawings, or non-digits")
    _common(ev)
    ev.add_argument("--train", type=int, default=None, help="training digits to index (default: all 60000)")
    ev.add_argument("--test", type=int, default=None, help="test digits to classify (default: all 10000)")
    ev.add_argument("--seed", type=int, default=0, help="seed for the random subsets and drawings")
    ev.add_argument("--set", choices=("mnist", "drawn", "pen", "scans", "omniglot", "numbers"), default="mnist",
                    help="'mnist': the MNIST test set; 'drawn': MNIST test digits redrawn as canvas strokes at pen widths "
                    "8-40 px; 'pen': real pen digits by 30 writers drawn as canvas strokes at pen widths 8-40 px; "
                    "'scans': 7291 USPS scans made into uploads (enlarged, dark on light, JPEG); "
                    "'omniglot': characters of other alphabets, not digits (how many are answered 'not a digit'); "
                    "'numbers': strings of 1-4 pen digits (one writer each) and of 1-4 USPS scans side by side, "
                    "split into digits and read")
    ev.add_argument("--per-width", type=int, default=300, help="with --set drawn: test digits drawn at each pen width")
    _pen_data(ev)
    ev.add_argument("--scans-data", metavar="DIR", help="with --set scans or numbers: folder with zip.train.gz "
                    "(default: $USPS_DIR, then ../shared/data/usps)")
    ev.add_argument("--omniglot-data", metavar="DIR", help="with --set omniglot: folder with "
                    "omniglot-strokes-dev.tar.gz (default: $OMNIGLOT_DIR, then ../shared/data/omniglot)")
    ev.add_argument("--n", type=int, default=None, help="with --set pen: a seeded sample of this many digits (default: "
                    f"all 7494); with --set numbers: strings per source (default: {NUMBERS})")
    ev.add_argument("--folds", type=int, default=None, help="with --set pen or numbers: split the writers into this "
                    "many folds; measure each with MNIST and the other folds' pen digits as references")
    ev.add_argument("--nested", action="store_true", help="with --set pen --folds F: choose k and the styled copies "
                    "for each fold on the other writers alone (inner folds), then measure the fold once")
    ev.add_argument("--stream", action="store_true", help="with --set pen --folds F: every writer draws all their "
                    "digits once, each misread one corrected at once (one tap on the page) and every other kept as "
                    "read (the page's Clear); the radius within which their own digits decide is chosen on nested folds")
    ev.add_argument("--errors", metavar="PNG", help="with --set drawn, pen or scans: save the misread pictures as one picture")
    pr = sub.add_parser("predict", help="classify image files (PNG, JPEG, ...)")
    _common(pr)
    pr.add_argument("images", nargs="+", metavar="IMAGE", help="image files")
    pr.add_argument("--taught", metavar="DIR", help="the writer's own digits, a folder per digit (DIR/0/ to DIR/9/) "
                    "of pictures, searched beside the shared references: the nearest of them decides within "
                    f"{OWN_RADIUS:g}x the distance of the k-th nearest shared reference, as a visitor's own do on the page")
    _pen_data(pr)
    be = sub.add_parser("bench", help="speed, memory and exactness next to NumPy, scikit-learn and faiss",
                        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    be.add_argument("--data", metavar="DIR", help="folder with the four MNIST IDX files")
    be.add_argument("--k", type=int, default=10, help="neighbours per query")
    be.add_argument("--queries", type=int, default=2000, help="test digits for the batch figure")
    be.add_argument("--single", type=int, default=200, help="test digits sent one at a time for latency")
    be.add_argument("--budget", type=float, default=20.0, help="seconds a slow peer may spend per figure")
    be.add_argument("--json", action="store_true", help="print JSON instead of a table")
    tr = sub.add_parser("train", help="train the learned features (two small CNNs) on MNIST's training digits",
                        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    tr.add_argument("--data", metavar="DIR", help="folder with the four MNIST IDX files")
    tr.add_argument("--epochs", type=int, default=6, help="passes over the training digits, per network (the committed weights: 6)")
    tr.add_argument("--seed", type=int, default=0, help="seed for the initial weights, shuffles and augmentation (network i: seed + i)")
    tr.add_argument("--train", type=int, default=None, help="train on a seeded subset of this many digits (default: all)")
    tr.add_argument("--calibration", type=int, default=None, metavar="N", help="set this many seeded MNIST "
                    f"training digits aside, unlearned: the certainty is calibrated on them (default: {SET_ASIDE:,}, "
                    "or a tenth of --train when that is fewer)")
    tr.add_argument("--pen", action="store_true", help="also train on every real pen digit, drawn on the canvas as "
                    "the index holds them and as other writers might (knn.augment.vary_strokes; the shipped "
                    "weights: yes)")
    tr.add_argument("--without", metavar="WRITERS", help="with --pen, leave these writers' digits out ('1-10', "
                    "'1,4,7'): networks to measure them with (knn/weights/held-out-*.npz)")
    _pen_data(tr)
    tr.add_argument("--out", metavar="FILE", default=None, help="where to write the networks' weights (default: "
                    "knn/weights/embedding.npz, which the 'learned' space uses)")
    for p in (parser, *sub.choices.values()):
        p.add_argument("--verbose", action="store_true", help="let TensorFlow's start-up and log lines through")
    a = parser.parse_args(argv)
    try:
        if getattr(a, "k", None) is not None and a.k < 1:
            raise ValueError(f"k must be at least 1; got {a.k}")
        return {"evaluate": cmd_evaluate, "predict": cmd_predict, "bench": cmd_bench, "train": cmd_train}[a.command](a)
    except (DataError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""Pictures and charts for the pages, made from plain arrays.

Figures know nothing about the engine, the data or Streamlit: they get
arrays (a 28x28 image, ten vote shares) and return a plotly figure, an
image array or a snippet of HTML ready for display. Small pictures go to
the browser as they are, and the browser enlarges them with crisp pixels.
"""

from __future__ import annotations

import base64
import io

import numpy as np
import plotly.graph_objects as go
from PIL import Image

ACCENT = "#4f8bf9"
MUTED = "#5a6270"
HEAT = [[0.0, "#000000"], [0.25, "#3b0f70"], [0.5, "#b5367a"], [0.75, "#fb8861"], [1.0, "#fcfdbf"]]  # 0 = black


def for_display(image: np.ndarray, side: int = 96) -> np.ndarray:
    """A picture (float 0-1, bool or uint8) as uint8 no larger than ``side`` px, for the browser to scale up.

    Small pictures (a 28x28 digit, 8x8 features) are sent as they are and
    enlarged by the browser with crisp pixels (the pages set CSS
    ``image-rendering: pixelated``), so it shows exactly what the engine
    sees at a tiny cost to encode; larger ones (an uploaded photo's crop) are
    first box-averaged down to ``side``.
    """
    a = np.asarray(image)
    if a.dtype != np.uint8:
        a = np.rint(np.clip(a.astype(np.float32), 0, 1) * 255).astype(np.uint8)
    if max(a.shape) <= side:
        return a
    s = side / max(a.shape)
    size = (max(1, round(a.shape[1] * s)), max(1, round(a.shape[0] * s)))  # PIL takes (width, height)
    return np.asarray(Image.fromarray(a).resize(size, Image.Resampling.BOX))


def png(image: np.ndarray) -> bytes:
    """A uint8 picture (grey, RGB or RGBA) as PNG bytes (fast, lightly compressed)."""
    buf = io.BytesIO()
    Image.fromarray(np.asarray(image, np.uint8)).save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def data_uri(image: np.ndarray) -> str:
    """A uint8 picture (grey, RGB or RGBA) as a PNG ``data:`` URI, to put in a page's HTML."""
    return png_uri(png(image))


def png_uri(data: bytes) -> str:
    """PNG bytes as a ``data:`` URI."""
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def framed(image: np.ndarray, side: int) -> np.ndarray:
    """Centre an (h, w) float image on a black side x side square (h, w <= side), to show its proportions."""
    a = np.asarray(image, np.float32)
    h, w = a.shape
    out = np.zeros((side, side), np.float32)
    top, left = (side - h) // 2, (side - w) // 2
    out[top:top + h, left:left + w] = a
    return out


def votes_html(shares: np.ndarray, prediction: int, height: int = 150) -> str:
    """The vote share of each digit 0-9 as plain HTML bars, the predicted one highlighted.

    Plain HTML rather than a chart library: the page redraws it on every
    stroke, for every visitor, and a browser lays out ten boxes for next to
    nothing (a plotly chart cost about 100 ms of script per redraw).
    """
    shares = np.asarray(shares, float)
    bars = []
    for d, s in enumerate(shares):
        colour = ACCENT if d == prediction else MUTED
        label = f"{s:.0%}" if s else ""
        bars.append(
            f'<div title="digit {d}: {s:.0%} of the vote" style="flex:1;display:flex;flex-direction:column;'
            f'justify-content:flex-end;align-items:center;height:100%">'
            f'<div style="font-size:0.8em;opacity:0.85">{label}</div>'
            f'<div style="width:70%;height:{s * 100:.1f}%;background:{colour};border-radius:2px 2px 0 0"></div>'
            f'<div style="font-size:0.9em;font-weight:{700 if d == prediction else 400}">{d}</div></div>')
    return (f'<div role="img" aria-label="vote shares" style="display:flex;gap:4px;height:{height}px;'
            f'align-items:stretch">{"".join(bars)}</div>')


def by_k_html(winners, k: int) -> str:
    """The vote's winner for every k from 1 up, as a strip of cells: the chosen k framed, and a bar
    before every k where the answer changes."""
    cells = []
    for j, w in enumerate(winners, 1):
        flip = j > 1 and w != winners[j - 2]
        chosen = j == k
        cells.append(
            f'<div title="k = {j}: {w}" style="flex:1;min-width:0;text-align:center;padding:2px 0;'
            f'border-left:{"3px solid " + ACCENT if flip else "1px solid transparent"};'
            f'background:{ACCENT if chosen else "transparent"};color:{"#fff" if chosen else "inherit"};'
            f'border-radius:3px"><div style="font-weight:700">{w}</div>'
            f'<div style="font-size:0.7em;opacity:0.7">{j}</div></div>')
    return (f'<div role="img" aria-label="the answer for every k" style="display:flex;gap:1px;'
            f'font-size:0.8em">{"".join(cells)}</div>')


def _heat_table() -> np.ndarray:
    """(256, 3) uint8: the HEAT scale's colour of every value 0-255, interpolated between its stops."""
    stops = np.array([p for p, _ in HEAT]) * 255
    rgb = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for _, c in HEAT], float)
    v = np.arange(256, dtype=float)
    return np.stack([np.interp(v, stops, rgb[:, i]) for i in range(3)], -1).round().astype(np.uint8)


_HEAT = _heat_table()


def _heat_colours(values: np.ndarray) -> np.ndarray:
    """0-255 values (rounded to whole levels) -> (..., 3) uint8 RGB on the HEAT scale (black at 0)."""
    return _HEAT[np.clip(np.rint(values), 0, 255).astype(np.uint8)]


def difference_map(query: np.ndarray, neighbour: np.ndarray, size: int = 280):
    """Where a distance comes from: (RGBA picture, cells) of |query - neighbour| per value (0-255).

    Takes two grids of the same shape (a space's :meth:`~knn.spaces.Space.grid`:
    784 pixels as 28x28, 128 learned features as 8x16) or two vectors of a
    square number of values. ``cells`` is the int64 map of absolute
    differences in that shape: the L1 distance is its sum, the L2 distance
    the square root of the sum of its squares. The picture is the map
    enlarged to about ``size`` px across with crisp cells, black where the two
    agree, and a colour scale from 0 to 255 on its right.
    """
    q, n = np.asarray(query), np.asarray(neighbour)
    if q.ndim == 1:
        side = int(round(np.sqrt(q.size)))
        q, n = q.reshape(side, side), n.reshape(side, side)
    d = np.abs(q.astype(np.int64) - n.astype(np.int64))
    side = max(d.shape)
    f = max(1, size // side)
    big = _heat_colours(d.repeat(f, 0).repeat(f, 1))
    h = big.shape[0]
    scale = _heat_colours(np.linspace(255, 0, h))[:, None, :].repeat(12, 1)  # 255 at the top
    picture = np.concatenate([big, np.zeros((h, 8, 3), np.uint8), scale], 1)
    alpha = np.full((h, picture.shape[1], 1), 255, np.uint8)
    alpha[:, big.shape[1]:big.shape[1] + 8] = 0  # a see-through gap before the scale
    return np.concatenate([picture, alpha], 2), d


DIGIT_COLOURS = ["#4f8bf9", "#f0a030", "#3fb950", "#e5534b", "#a371f7", "#8d6e63", "#ec6cb9", "#9aa0a6", "#c9d43a", "#39c5cf"]


def accuracy_curves(curves: dict, ks, marks: dict = None) -> go.Figure:
    """Accuracy against k: ``curves`` maps a name to accuracies (len(ks),).

    Names containing "5,000" are drawn dotted (the tutorial's setting);
    ``marks`` maps a label to (k, accuracy) points drawn as stars.
    """
    fig = go.Figure()
    for name, acc in curves.items():
        small = "5,000" in name
        fig.add_scatter(x=list(ks), y=[a * 100 for a in acc], name=name, mode="lines+markers",
                        line=dict(dash="dot" if small else "solid", width=1.5 if small else 2.5),
                        marker=dict(size=4 if small else 6))
    for label, (k, acc) in (marks or {}).items():
        fig.add_scatter(x=[k], y=[acc * 100], name=label, mode="markers+text", text=[label],
                        textposition="top right", marker=dict(symbol="star", size=14, color="#f0a030"))
    fig.update_layout(xaxis_title="k (neighbours that vote)", yaxis_title="test accuracy (%)", height=420,
                      margin=dict(l=10, r=10, t=30, b=10), legend=dict(orientation="h", y=-0.25))
    fig.update_xaxes(dtick=1)
    return fig


def coverage_chart(curves: dict, levels) -> go.Figure:
    """Coverage of the prediction sets against their level: ``curves`` maps a name to coverages
    (len(levels),); the diagonal is the promise."""
    x = [lv * 100 for lv in levels]
    fig = go.Figure()
    fig.add_scatter(x=[x[0], x[-1]], y=[x[0], x[-1]], name="the promise: coverage = level", mode="lines",
                    line=dict(dash="dash", color=MUTED, width=1.5))
    for name, cov in curves.items():
        fig.add_scatter(x=x, y=[c * 100 for c in cov], name=name, mode="lines", line=dict(width=2.5))
    fig.update_layout(xaxis_title="level of the prediction sets (%)", yaxis_title="sets that hold the true digit (%)",
                      height=380, margin=dict(l=10, r=10, t=30, b=10), legend=dict(orientation="h", y=-0.3))
    return fig


def histograms(groups: dict, x_title: str, threshold: float = None, log: bool = False) -> go.Figure:
    """Overlaid histograms, each group as a share of its own pictures; ``log`` bins log10 of the values
    (ticks still in the values' own units); ``threshold`` is drawn as a vertical line. Binned here, so
    the page sends a few hundred bar heights instead of every value (tens of thousands)."""
    size = 0.1 if log else 0.025
    shown = {name: np.log10(np.maximum(np.asarray(v, float), 1e-5)) if log else np.asarray(v, float)
             for name, v in groups.items()}
    everything = np.concatenate([v for v in shown.values() if len(v)] or [np.zeros(1)])
    edges = np.arange(np.floor(everything.min() / size), np.ceil(everything.max() / size) + 1) * size
    if len(edges) < 2:
        edges = np.array([edges[0], edges[0] + size])
    fig = go.Figure()
    for (name, v), raw in zip(shown.items(), groups.values()):
        counts, _ = np.histogram(v, edges)
        fig.add_bar(x=(edges[:-1] + edges[1:]) / 2, y=100 * counts / max(len(v), 1), width=size,
                    name=f"{name} ({len(raw):,})", opacity=0.6)
    if threshold is not None:
        fig.add_vline(x=np.log10(threshold) if log else threshold, line=dict(color="#f0a030", dash="dash"))
    fig.update_layout(barmode="overlay", bargap=0, xaxis_title=x_title, yaxis_title="share of the set (%)",
                      height=340, margin=dict(l=10, r=10, t=30, b=10), legend=dict(orientation="h", y=-0.35))
    if log:
        ticks = [-4, -3, -2, -1, 0]
        fig.update_xaxes(tickvals=ticks, ticktext=[f"{10.0 ** t:g}" for t in ticks])
    return fig


def confusion_heatmap(matrix: np.ndarray, selected: tuple = None) -> go.Figure:
    """A 10x10 confusion matrix (rows true, columns predicted); errors coloured, the diagonal greyed."""
    m = np.asarray(matrix)
    off = m.astype(float)
    np.fill_diagonal(off, np.nan)  # the diagonal would drown every error in colour
    fig = go.Figure(go.Heatmap(z=off, x=list(range(10)), y=list(range(10)), colorscale=HEAT, text=m,
                               texttemplate="%{text}", hovertemplate="true %{y}, predicted %{x}: %{text}<extra></extra>",
                               colorbar=dict(title="errors")))
    if selected is not None:
        t, p = selected
        fig.add_shape(type="rect", x0=p - 0.5, x1=p + 0.5, y0=t - 0.5, y1=t + 0.5, line=dict(color=ACCENT, width=3))
    fig.update_layout(xaxis_title="predicted", yaxis_title="true label", height=460,
                      margin=dict(l=10, r=10, t=30, b=10), yaxis=dict(autorange="reversed", dtick=1), xaxis=dict(dtick=1))
    return fig


def per_class_chart(matrix: np.ndarray) -> go.Figure:
    """Accuracy of each true class from a confusion matrix."""
    m = np.asarray(matrix)
    acc = np.diag(m) / np.maximum(m.sum(1), 1) * 100
    fig = go.Figure(go.Bar(x=[str(d) for d in range(10)], y=acc, marker_color=ACCENT,
                           text=[f"{a:.1f}%" for a in acc], textposition="outside"))
    fig.update_layout(xaxis_title="true digit", yaxis_title="accuracy (%)", height=320,
                      yaxis=dict(range=[max(0, acc.min() - 3), 100.5]), margin=dict(l=10, r=10, t=30, b=10))
    return fig


def pca_scatter(coords: np.ndarray, labels: np.ndarray, you: np.ndarray = None, neighbours: np.ndarray = None,
                explained=None) -> go.Figure:
    """Training digits on the first two principal components, coloured by label; your drawing and its neighbours on top."""
    fig = go.Figure()
    for d in range(10):
        c = coords[labels == d]
        fig.add_scattergl(x=c[:, 0], y=c[:, 1], mode="markers", name=str(d),
                          marker=dict(size=3, color=DIGIT_COLOURS[d], opacity=0.5))
    if neighbours is not None and len(neighbours):
        fig.add_scatter(x=neighbours[:, 0], y=neighbours[:, 1], mode="markers", name="its nearest neighbours",
                        marker=dict(size=11, symbol="circle-open", color="white", line=dict(width=2)))
    if you is not None:
        fig.add_scatter(x=you[:, 0], y=you[:, 1], mode="markers", name="your drawing",
                        marker=dict(size=18, symbol="star", color="#ffd33d", line=dict(width=1, color="black")))
    ex = "" if explained is None else f" ({explained[0]:.0%} of the variance)"
    ey = "" if explained is None else f" ({explained[1]:.0%})"
    fig.update_layout(xaxis_title=f"first principal component{ex}", yaxis_title=f"second{ey}", height=560,
                      margin=dict(l=10, r=10, t=30, b=10), legend=dict(itemsizing="constant"))
    return fig


def contact_sheet(images: np.ndarray, captions, per_row: int = 20, scale: int = 2):
    """A PIL picture of many 28x28 digits in a grid, each enlarged ``scale`` times with a caption under it."""
    from PIL import ImageDraw

    images = np.asarray(images, np.uint8).reshape(-1, 28, 28)
    cell_w, cell_h = 28 * scale + 4, 28 * scale + 16
    rows = max(1, -(-len(images) // per_row))
    sheet = Image.new("L", (min(max(len(images), 1), per_row) * cell_w, rows * cell_h), 40)
    draw = ImageDraw.Draw(sheet)
    for j, (img, cap) in enumerate(zip(images, captions)):
        r, c = divmod(j, per_row)
        x, y = c * cell_w + 2, r * cell_h + 2
        sheet.paste(Image.fromarray(img).resize((28 * scale, 28 * scale), Image.Resampling.NEAREST), (x, y))
        draw.text((x, y + 28 * scale + 1), str(cap), fill=230)
    return sheet

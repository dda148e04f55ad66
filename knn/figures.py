"""Pictures and charts for the pages, made from plain arrays.

Figures know nothing about the engine, the data or Streamlit: they get
arrays (a 28x28 image, ten vote shares) and return a plotly figure or an
image array ready for display.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

ACCENT = "#4f8bf9"
MUTED = "#5a6270"
HEAT = [[0.0, "#000000"], [0.25, "#3b0f70"], [0.5, "#b5367a"], [0.75, "#fb8861"], [1.0, "#fcfdbf"]]  # 0 = black


def enlarge(image: np.ndarray, size: int = 168) -> np.ndarray:
    """Blow a small image (float 0-1 or uint8) up to about ``size`` px with crisp pixels.

    Every source pixel becomes a square of equal pixels (nearest neighbour),
    so the browser shows exactly what the engine sees; a 1-px grey frame marks
    the image's edge.
    """
    a = np.asarray(image)
    if a.dtype != np.uint8:
        a = np.rint(np.clip(a, 0, 1) * 255).astype(np.uint8)
    f = max(1, size // max(a.shape))
    big = np.kron(a, np.ones((f, f), np.uint8))
    return np.pad(big, 1, constant_values=90)


def framed(image: np.ndarray, side: int) -> np.ndarray:
    """Centre an (h, w) float image on a black side x side square (h, w <= side), to show its proportions."""
    a = np.asarray(image, np.float32)
    h, w = a.shape
    out = np.zeros((side, side), np.float32)
    top, left = (side - h) // 2, (side - w) // 2
    out[top:top + h, left:left + w] = a
    return out


def votes_chart(shares: np.ndarray, prediction: int) -> go.Figure:
    """Bar chart of the vote share of each digit 0-9, the predicted one highlighted."""
    shares = np.asarray(shares, float)
    colors = [ACCENT if d == prediction else MUTED for d in range(10)]
    fig = go.Figure(go.Bar(
        x=[str(d) for d in range(10)], y=shares, marker_color=colors,
        text=[f"{s:.0%}" if s else "" for s in shares], textposition="outside",
        hovertemplate="digit %{x}: %{y:.0%} of the vote<extra></extra>",
    ))
    fig.update_layout(
        height=220, margin=dict(l=10, r=10, t=10, b=10), yaxis=dict(range=[0, 1.15], tickformat=".0%", title=None),
        xaxis=dict(title=None, type="category"), showlegend=False,
    )
    return fig


def difference_heatmap(query: np.ndarray, neighbour: np.ndarray, metric: str = "l1") -> go.Figure:
    """Heatmap of |query - neighbour| per pixel (0-255): where the distance comes from.

    The title gives the total: the sum of the map for L1, the square root of
    the sum of its squares for L2.
    """
    d = np.abs(query.reshape(28, 28).astype(np.int64) - neighbour.reshape(28, 28).astype(np.int64))
    total = d.sum() if metric == "l1" else float(np.sqrt((d * d).sum()))
    fig = go.Figure(go.Heatmap(
        z=d, colorscale=HEAT, zmin=0, zmax=255,
        hovertemplate="row %{y}, column %{x}: |difference| %{z}<extra></extra>",
        colorbar=dict(title="|diff|", thickness=12),
    ))
    fig.update_layout(
        height=300, margin=dict(l=10, r=10, t=36, b=10),
        title=dict(text=f"{metric.upper()} distance {total:,.0f}", font=dict(size=14)),
        xaxis=dict(visible=False, scaleanchor="y", constrain="domain"), yaxis=dict(visible=False, autorange="reversed"),  # row 0 at the top, as in the image
        paper_bgcolor="rgba(0,0,0,0)", font=dict(color="#bbbbbb"),
    )
    return fig

"""The portfolio view: every account placed by sentiment against revenue (or coverage), an inline SVG with
hover tooltips and no script (:func:`portfolio_map`)."""

from __future__ import annotations

import html
import math

import numpy as np
import pandas as pd

from ..exceptions import PlotDataError
from ..village.safetext import display_text
from .mapstyle import _diverging, _plain, _shorten

__all__ = ["portfolio_map"]

# --------------------------------------------------------------------------- portfolio

_OKABE_ITO = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000")


def _nice_ticks(lo: float, hi: float, n: int = 5) -> np.ndarray:
    span = hi - lo if hi > lo else abs(hi) or 1.0
    step = 10 ** math.floor(math.log10(span / n))
    for m in (1, 2, 2.5, 5, 10):
        if span / (step * m) <= n:
            step *= m
            break
    return np.arange(math.ceil(lo / step) * step, hi + step * 1e-9, step)


def _tick_text(v: float) -> str:
    a = abs(v)
    for div, suf in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            return f"{v / div:.3g}{suf}"
    return f"{v:.3g}"


def portfolio_map(
    data: pd.DataFrame,
    *,
    x: str = "influence_weighted",
    y: str = "annual_revenue",
    size: str | None = None,
    hue: str | None = None,
    label: str = "account_id",
    tooltip: list | tuple = (),
    title: str | None = "Where the money at risk sits",
    n_labels: int = 10,
    width: int = 900,
    height: int = 560,
) -> str:
    """Portfolio view: every account placed by sentiment against revenue (or coverage).

    Accounts left of zero are unhappy; high and left is where the money at risk
    sits, so that quadrant is shaded and its ``n_labels`` largest accounts (by
    ``y``) are labelled. Accounts with no sentiment (nobody heard) are drawn in
    a separate "not heard" strip on the left, amber as on the network maps.
    Hovering a point shows its label, values and any ``tooltip`` columns.

    Parameters
    ----------
    data : DataFrame
        One row per account.
    x : str
        Sentiment column on the common [-1, 1] scale (NaN = not heard).
    y : str
        Revenue (>= 0) or coverage column; numeric.
    size : str, optional
        Numeric column (>= 0) for the marker area, e.g. revenue at risk.
    hue : str, optional
        Categorical column for the marker colour (at most 8 levels, Okabe-Ito
        palette). Default: colour by ``x`` on the maps' diverging scale.
    label : str
        Column naming each account (tooltips and labels).
    tooltip : sequence of str
        Extra columns shown on hover.
    title : str, optional
    n_labels : int
        How many at-risk accounts to label on the chart.
    width, height : int
        Size of the SVG in pixels.

    Raises
    ------
    PlotDataError
        A missing column, ``x`` outside [-1, 1], no numeric ``y``, or more
        than 8 ``hue`` levels.

    Returns
    -------
    str
        An HTML ``<figure>`` holding an inline SVG: no script, no external
        reference; every value from ``data`` is escaped. Display it with
        ``IPython.display.HTML`` or embed it in a report.

    Examples
    --------
    >>> df = pd.DataFrame({"account_id": ["A1", "A2", "<A3>"],
    ...                    "influence_weighted": [-0.5, 0.4, None],
    ...                    "annual_revenue": [2e6, 5e5, 1e6]})
    >>> fig = portfolio_map(df)
    >>> fig.count("<circle"), "&lt;A3&gt;" in fig, "<A3>" in fig
    (3, True, False)
    """
    df, xs, ys = _checked(data, x, y, size, hue, label, tooltip)
    box = _frame(width, height, title, ys)
    heard = ~np.isnan(xs)
    px = np.where(heard, box.x0 + (np.nan_to_num(xs) + 1) / 2 * box.xw, box.left + box.strip / 2)
    py = box.top + box.ph - (ys - box.ymin) / (box.ymax - box.ymin) * box.ph
    radius, fills = _marks(df, xs, size, hue)
    out = _axes_svg(box, x, y, title, width, height)
    labels = df[label].astype("string").fillna("(no id)").map(display_text).to_numpy()
    extra = [(c, df[c].map(display_text).to_numpy()) for c in tooltip]
    order = np.argsort(-radius, kind="stable")  # big markers first, small ones on top
    for i in order:
        tip = [f"{labels[i]}", f"{x}: " + ("not heard" if np.isnan(xs[i]) else f"{xs[i]:+.2f}"), f"{y}: {ys[i]:,.6g}"]
        if size:
            tip.append(f"{size}: {_plain(df[size].iloc[i])}")
        if hue:
            tip.append(f"{hue}: {_plain(df[hue].iloc[i])}")
        tip += [f"{c}: {_plain(v[i])}" for c, v in extra]
        stroke = "#7a5c00" if np.isnan(xs[i]) else "#333"
        out.append(f'<circle cx="{px[i]:.1f}" cy="{py[i]:.1f}" r="{radius[i]:.1f}" fill="{fills[i]}" '
                   f'fill-opacity="0.85" stroke="{stroke}" stroke-width="0.8"><title>{_e(chr(10).join(tip))}</title>'
                   '</circle>')
    at_risk = np.where(~heard | (np.nan_to_num(xs) < 0))[0]
    for i in at_risk[np.argsort(-ys[at_risk], kind="stable")][: max(int(n_labels), 0)]:
        out.append(f'<text x="{px[i] + radius[i] + 3:.1f}" y="{py[i] + 4:.1f}" style="font-size:11px">'
                   f'{_e(_shorten(str(labels[i]), 24))}</text>')
    out.append("</svg>")
    money = float(ys[at_risk].sum())
    out.append(f'<figcaption style="font-size:12px;color:#555">{len(at_risk)} of {len(df)} accounts are negative '
               f'or not heard; together they hold {_e(_tick_text(money))} of {_e(y)} '
               f'({money / ys.sum():.0%} of the total). Hover a point for details.</figcaption>' if ys.sum() > 0 else
               f'<figcaption style="font-size:12px;color:#555">{len(at_risk)} of {len(df)} accounts are negative '
               'or not heard.</figcaption>')
    out.append("</figure>")
    return "".join(out)


_e = html.escape


def _checked(data, x, y, size, hue, label, tooltip):
    """The columns used, with ``x`` (checked in [-1, 1]) and ``y`` as floats; rows without ``y`` dropped."""
    cols = [x, y, label] + [c for c in (size, hue) if c] + list(tooltip)
    missing = [c for c in dict.fromkeys(cols) if c not in data.columns]
    if missing:
        raise PlotDataError(f"data has no column(s) {missing}; expected columns {list(dict.fromkeys(cols))}. "
                            f"Available: {list(data.columns)}.")
    df = data.loc[:, list(dict.fromkeys(cols))].copy()
    xs = pd.to_numeric(df[x], errors="coerce").astype("float64").to_numpy()
    ys = pd.to_numeric(df[y], errors="coerce").astype("float64").to_numpy()
    if np.isnan(ys).all():
        raise PlotDataError(f"y={y!r} has no numeric values; expected revenue or coverage numbers.")
    bad = xs[~np.isnan(xs) & (np.abs(np.nan_to_num(xs)) > 1 + 1e-9)]
    if bad.size:
        raise PlotDataError(f"x={x!r} has {bad.size} value(s) outside [-1, 1] (e.g. {bad[0]:.3g}); "
                            "expected sentiment on the common scale (NaN = not heard).")
    keep = ~np.isnan(ys)
    return df.loc[keep], xs[keep], ys[keep]


def _frame(width, height, title, ys):
    """The plot area in pixels (margins, the "not heard" strip, the sentiment axis) and the ``y`` range."""
    from types import SimpleNamespace

    left, right, top, bottom = 90, 30, 40 if title else 16, 56
    pw, ph = width - left - right, height - top - bottom
    strip = 0.12 * pw  # the "not heard" strip
    ymin = min(0.0, float(ys.min()))
    ymax = float(ys.max()) if ys.max() > ymin else ymin + 1.0
    ymax += 0.05 * (ymax - ymin)
    return SimpleNamespace(left=left, top=top, pw=pw, ph=ph, strip=strip, x0=left + strip, xw=pw - strip,
                           ymin=ymin, ymax=ymax)


def _marks(df, xs, size, hue):
    """Marker radius (area by ``size``) and fill (``hue`` levels, else the sentiment scale) per row."""
    if size:
        s = pd.to_numeric(df[size], errors="coerce").astype("float64").fillna(0).clip(lower=0).to_numpy()
        radius = 4 + 14 * np.sqrt(s / s.max()) if s.max() > 0 else np.full(len(s), 6.0)
    else:
        radius = np.full(len(df), 6.0)
    if hue:
        levels = pd.unique(df[hue].astype("string").fillna("(blank)"))
        if len(levels) > len(_OKABE_ITO):
            raise PlotDataError(f"hue={hue!r} has {len(levels)} levels; expected at most {len(_OKABE_ITO)}. "
                                "Bin it first, e.g. with pd.cut.")
        palette = dict(zip(levels, _OKABE_ITO))
        fills = [palette[v] for v in df[hue].astype("string").fillna("(blank)")]
    else:
        fills = _diverging(xs)
    return radius, fills


def _axes_svg(b, x, y, title, width, height) -> list:
    """The figure's opening, title, shaded at-risk half, grid, ticks and axis names (no data)."""
    left, top, pw, ph, strip, x0, xw, ymin, ymax = b.left, b.top, b.pw, b.ph, b.strip, b.x0, b.xw, b.ymin, b.ymax
    out = ['<figure class="cx-portfolio" style="margin:0;font-family:system-ui,Helvetica,Arial,sans-serif">',
           f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
           f'role="img" aria-label="{_e(title or "Portfolio map")}" style="font-size:13px;max-width:100%;height:auto">']
    if title:
        out.append(f'<text x="{left}" y="24" style="font-size:17px;font-weight:600">{_e(title)}</text>')
    # at-risk half shaded: negative sentiment, plus the not-heard strip
    out.append(f'<rect x="{left}" y="{top}" width="{strip + xw / 2:.1f}" height="{ph}" fill="#fbe3e1" opacity="0.55"/>')
    out.append(f'<line x1="{x0:.1f}" y1="{top}" x2="{x0:.1f}" y2="{top + ph}" stroke="#999" stroke-dasharray="3 3"/>')
    for t in _nice_ticks(ymin, ymax):
        ty = top + ph - (t - ymin) / (ymax - ymin) * ph
        out.append(f'<line x1="{left}" y1="{ty:.1f}" x2="{left + pw}" y2="{ty:.1f}" stroke="#e5e5e5"/>')
        out.append(f'<text x="{left - 6}" y="{ty + 4:.1f}" text-anchor="end">{_e(_tick_text(t))}</text>')
    for t in (-1, -0.5, 0, 0.5, 1):
        tx = x0 + (t + 1) / 2 * xw
        out.append(f'<line x1="{tx:.1f}" y1="{top}" x2="{tx:.1f}" y2="{top + ph}" stroke="#e5e5e5"/>')
        out.append(f'<text x="{tx:.1f}" y="{top + ph + 18}" text-anchor="middle">{t:+g}</text>'.replace(">+0<", ">0<"))
    mid = x0 + xw / 2
    out.append(f'<line x1="{mid:.1f}" y1="{top}" x2="{mid:.1f}" y2="{top + ph}" stroke="#666"/>')
    out.append(f'<text x="{left + strip / 2:.1f}" y="{top + ph + 18}" text-anchor="middle">not heard</text>')
    out.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>')
    out.append(f'<text x="{x0 + xw / 2:.1f}" y="{height - 12}" text-anchor="middle" style="font-weight:600">'
               f'{_e(x)} (sentiment, -1 to +1)</text>')
    out.append(f'<text transform="translate(18,{top + ph / 2:.1f}) rotate(-90)" text-anchor="middle" '
               f'style="font-weight:600">{_e(y)}</text>')
    return out

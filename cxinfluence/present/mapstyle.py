"""The maps' visual vocabulary and value handling: colours (the diverging sentiment scale), node shapes per
role, sizes, and turning attribute values (numpy, Timestamps, NaN, customer text) into what a page shows."""

from __future__ import annotations

import datetime as _dt
import json
import math
import numbers

import numpy as np
import pandas as pd

from ..village.safetext import display_text

__all__ = ["NOT_HEARD_COLOR", "DEPARTED_COLOR", "ROLE_SHAPES", "OTHER_SHAPE", "KEY_LABELS", "MAX_KEY_LABELS",
           "LABEL_FONT_SIZE", "sentiment_color"]


#: ColorBrewer RdBu (9 classes), from -1 (red) through 0 (near white) to +1 (blue).
_RDBU = ("#b2182b", "#d6604d", "#f4a582", "#fddbc7", "#f7f7f7", "#d1e5f0", "#92c5de", "#4393c3", "#2166ac")
#: Not on the diverging scale, so "not heard" cannot be read as neutral.
NOT_HEARD_COLOR = "#ffc20a"
DEPARTED_COLOR = "#cfcfcf"
_EDGE_STYLE = {
    "reports_to": {"color": "#555555", "dashes": False, "text": "reports to"},
    "influences": {"color": "#8e63b5", "dashes": [8, 6], "text": "influences"},
}
_MIN_SIZE, _MAX_SIZE = 12.0, 45.0
_SCORES = (("nps", "NPS", "/10"), ("csat", "CSAT", "/5"), ("ces", "CES", "/5"), ("neteasy", "NetEasy", "/7"))
_COMMENT_CHARS = 400
_LABEL_CHARS = 32
_VIS_DIR = ("templates", "lib", "vis-9.1.2")
#: Node shape per buying-center role (Webster & Wind 1972), so role reads without hovering and in black and white.
ROLE_SHAPES = {"decider": "star", "buyer": "square", "influencer": "triangle", "gatekeeper": "hexagon", "user": "dot"}
OTHER_SHAPE = "triangleDown"
#: People named on the canvas at the first view: the ``KEY_LABELS`` most influential, plus veto holders,
#: at most ``MAX_KEY_LABELS`` in all; everyone else is named once zoomed in, and on hover.
KEY_LABELS, MAX_KEY_LABELS = 10, 18
#: Label size in screen pixels at the first view (the page keeps named labels at least this size when zoomed out).
LABEL_FONT_SIZE = 14
#: Sentiment bands of the map's filter: below -0.1 negative, above +0.1 positive, else neutral.
_MOOD_BAND = 0.1


# --------------------------------------------------------------------------- colours


def _rgb(hex_colour):
    return np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=float)


_RDBU_RGB = np.array([_rgb(c) for c in _RDBU])


def _diverging(values) -> list:
    """Hex colours for sentiments in [-1, 1]; NaN gives ``NOT_HEARD_COLOR``."""
    v = np.atleast_1d(np.asarray(values, dtype="float64"))
    pos = np.nan_to_num((np.clip(v, -1.0, 1.0) + 1.0) / 2.0 * (len(_RDBU) - 1))
    lo = np.clip(np.floor(pos), 0, len(_RDBU) - 2).astype(int)
    frac = (pos - lo)[:, None]
    rgb = np.rint(_RDBU_RGB[lo] * (1 - frac) + _RDBU_RGB[lo + 1] * frac).astype(int)
    out = ["#%02x%02x%02x" % tuple(c) for c in rgb]
    return [NOT_HEARD_COLOR if np.isnan(x) else c for x, c in zip(v, out)]


def sentiment_color(value) -> str:
    """Colour of one sentiment value on the maps' diverging scale.

    Parameters
    ----------
    value : float or None
        Sentiment on the common [-1, 1] scale (values outside are clipped);
        ``None`` or NaN means "not heard".

    Returns
    -------
    str
        ``#rrggbb``: red for -1, near white for 0, blue for +1 (ColorBrewer
        RdBu, linearly interpolated), amber ``NOT_HEARD_COLOR`` when not heard.

    Examples
    --------
    >>> sentiment_color(-1.0), sentiment_color(0.0), sentiment_color(1.0)
    ('#b2182b', '#f7f7f7', '#2166ac')
    >>> sentiment_color(None) == NOT_HEARD_COLOR
    True
    """
    return _diverging([np.nan if value is None else float(value)])[0]


# --------------------------------------------------------------------------- conversions


def _plain(value):
    """A JSON-ready Python value: numpy scalars, Timestamps and NaN converted."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, (pd.Timestamp, _dt.datetime, _dt.date, np.datetime64)):
        ts = pd.Timestamp(value)
        return None if ts is pd.NaT else ts.date().isoformat()
    if isinstance(value, str):
        return value
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def _number(value):
    value = _plain(value)
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    return float(value) if math.isfinite(float(value)) else None


def _text(value) -> str | None:
    """Customer text ready to show: stripped, bidi controls removed, None when blank."""
    value = _plain(value)
    if value is None:
        return None
    value = display_text(str(value)).strip()
    return value or None


def _mood(sentiment) -> str:
    if sentiment is None:
        return "unheard"
    return "negative" if sentiment < -_MOOD_BAND else "positive" if sentiment > _MOOD_BAND else "neutral"


def _flag(value, default: bool) -> bool:
    """A yes/no attribute; text such as "False" or "0" reads as no (bool("False") is True)."""
    value = _plain(value)
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() in ("true", "t", "yes", "y", "1")
    return bool(value)


def _fmt(x: float) -> str:
    return f"{x:.0f}" if float(x).is_integer() else f"{x:.1f}"


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def _json_for_html(obj) -> str:
    """JSON that cannot close the ``<script>`` element it sits in."""
    text = json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text



"""Customer text made safe to *show*: bidirectional control characters removed.

Names, titles and comments come from customers. Escaping (``html.escape``,
``textContent``) stops them becoming markup, but not from changing how the
text around them reads: the Unicode bidirectional controls (embeddings
U+202A-U+202E, isolates U+2066-U+2069, marks U+200E/U+200F) reorder what the
reader sees, so a name ending in U+202E + "evil" is displayed as "live"
("Trojan Source", Boucher & Anderson 2021, CVE-2021-42574). :func:`display_text`
is the one place every page (maps, the report, account pages) sends customer
text through before showing it.
"""

from __future__ import annotations

import re

import numpy as np

__all__ = ["BIDI_CONTROLS", "display_text"]

#: The bidirectional formatting characters of Unicode's UAX #9 that change display order.
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
_BIDI = re.compile(f"[{BIDI_CONTROLS}]")


def display_text(value):
    """``value`` with every bidi control character removed (non-strings returned as they are).

    Parameters
    ----------
    value : str or any
        Customer text. ``None`` and numbers pass through unchanged.

    Returns
    -------
    str or the input
        The text in the order it was typed: left-to-right and right-to-left
        scripts still display correctly (the Unicode bidi algorithm handles
        them without controls), but nothing can reverse or hide part of a
        string any more.

    Examples
    --------
    >>> display_text("Ann \\u202eevil")
    'Ann evil'
    >>> display_text("\\u2067\\u05e9\\u05dc\\u05d5\\u05dd\\u2069 Shalom"), display_text(None), display_text(3)
    ('\\u05e9\\u05dc\\u05d5\\u05dd Shalom', None, 3)
    """
    if not isinstance(value, str):
        return value
    return _BIDI.sub("", value)


#: currency symbols written before the number without a space
_SYMBOLS = {"$", "€", "£", "¥", "₹", "₩", "₽", "₺", "₪", "฿", "₫", "₱", "R$", "A$", "C$", "CHF"}


def money(x, currency: str | None = None, *, short: bool = True) -> str:
    """An amount for people: ``1.6M``, ``€1.6M``, ``EUR 1.6M`` (``short=False``: all digits).

    Parameters
    ----------
    x : float
    currency : str, optional
        A symbol (``"$"``, ``"€"``) is written before the number, a code
        (``"EUR"``) before it with a space; None writes the number alone.
    short : bool
        Thousands, millions and billions as ``k``, ``M``, ``B`` with 3 significant digits.

    Examples
    --------
    >>> money(1609806.76), money(1609806.76, "€"), money(950, "EUR"), money(-2.5e9, "$")
    ('1.61M', '€1.61M', 'EUR 950', '-$2.5B')
    >>> money(21331033.2, short=False), money(float("nan"))
    ('21,331,033', 'n/a')
    """
    if x is None or not np.isfinite(float(x)):
        return "n/a"
    x = float(x)
    sign, a = ("-" if x < 0 else ""), abs(x)
    if short:
        for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
            if a >= div:
                body = f"{a / div:.3g}{suffix}"
                break
        else:
            body = f"{a:.0f}"
    else:
        body = f"{a:,.0f}"
    if not currency:
        return sign + body
    currency = str(currency).strip()
    return f"{sign}{currency}{body}" if currency in _SYMBOLS or len(currency) == 1 else f"{sign}{currency} {body}"

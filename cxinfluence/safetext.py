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

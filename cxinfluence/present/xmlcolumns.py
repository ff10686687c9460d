"""Whole columns as XML attribute values and whole tables as lines of text, with pyarrow.

The portfolio GEXF (:mod:`cxinfluence.present.portfolio`) has one line per
person and per tie: millions at portfolio scale. Quoting every value with
:func:`xml.sax.saxutils.quoteattr` in a Python loop took minutes; here each
step runs over a whole column at once (Arrow compute kernels), and the lines of
a block of rows are written as one buffer.

The output is byte for byte what the readable per-value rule gives
(:func:`quote_values`' reference ``quote_value``; a test compares the two on
hostile text): bidi controls removed
(:func:`cxinfluence.village.safetext.display_text`), characters XML cannot hold
dropped, ``& < >`` and newline, carriage return and tab escaped, and the value
quoted as ``quoteattr`` quotes it (double quotes, or single quotes when the
value holds ``"`` but no ``'``, else ``&quot;``).
"""

from __future__ import annotations

import re
from xml.sax.saxutils import quoteattr

import numpy as np
import pandas as pd

from ..village.ids import one_array
from ..village.safetext import BIDI_CONTROLS, display_text

__all__ = ["XML_BAD", "quote_value", "quote_values", "quote_numbers", "quote_flags", "join_columns", "write_lines",
           "plain_text", "attribute_column", "join_lines"]

#: characters XML 1.0 cannot hold (dropped from customer text)
XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# the same characters and the bidi controls, in RE2 syntax for Arrow
_DROP_RE2 = "[\\x{00}-\\x{08}\\x{0b}\\x{0c}\\x{0e}-\\x{1f}\\x{fffe}\\x{ffff}" + "".join(
    f"\\x{{{ord(c):04x}}}" for c in BIDI_CONTROLS) + "]"
# quoteattr's escapes, in its order: &, >, < first (xml.sax.saxutils.escape), then \n, \r, \t
_ESCAPES = (("&", "&amp;"), (">", "&gt;"), ("<", "&lt;"), ("\n", "&#10;"), ("\r", "&#13;"), ("\t", "&#9;"))


def quote_value(value):
    """The readable rule for one value: ``None`` for a blank, else the quoted attribute text.

    Examples
    --------
    >>> quote_value('Ann "A" <b>'), quote_value(None), quote_value(float("nan"))
    ('\\'Ann "A" &lt;b&gt;\\'', None, None)
    """
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    return quoteattr(XML_BAD.sub("", display_text(str(value))))


def _as_text(values):
    """``values`` as an Arrow string array (blanks null), or None when they are not all text."""
    import pyarrow as pa

    try:
        arr = pa.array(values, from_pandas=True) if not isinstance(values, pa.Array) else values
    except (pa.ArrowException, TypeError, ValueError):
        return None
    arr = one_array(arr)
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if pa.types.is_large_string(arr.type):
        arr = arr.cast(pa.string())
    if pa.types.is_null(arr.type):
        return pa.nulls(len(arr), pa.string())
    return arr if pa.types.is_string(arr.type) else None


def quote_values(values):
    """:func:`quote_value` over a column: an Arrow string array, null for blanks.

    Text columns go through Arrow kernels; anything else (numbers, mixed
    objects) through :func:`quote_value` one by one, with the same result.

    Parameters
    ----------
    values : Series, array-like or pyarrow.Array

    Returns
    -------
    pyarrow.StringArray

    Examples
    --------
    >>> quote_values(pd.Series(["a&b", None, "it's \\"x\\""])).to_pylist()
    ['"a&amp;b"', None, '"it\\'s &quot;x&quot;"']
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = _as_text(values)
    if arr is None:
        if isinstance(values, pd.Series):
            values = values.to_numpy(object)
        return pa.array([quote_value(v) for v in values], pa.string())
    if len(arr) == 0:
        return arr
    if len(arr) > _FEW_SAMPLE and len(pc.unique(arr.slice(0, _FEW_SAMPLE))) <= _FEW_SAMPLE // 4:
        # a column of few distinct values (account ids, roles, titles, dates): quote each distinct value once
        enc = pc.dictionary_encode(arr)
        if len(enc.dictionary) <= len(arr) // 4:
            return pc.take(_quote_text(enc.dictionary), enc.indices)
    return _quote_text(arr)


#: rows looked at to guess whether a text column repeats its values (then each distinct value is quoted once)
_FEW_SAMPLE = 4096


def _quote_text(arr):
    """:func:`quote_values` of an Arrow string array, row by row with Arrow kernels."""
    import pyarrow.compute as pc

    arr = pc.replace_substring_regex(arr, _DROP_RE2, "")
    for ch, esc in _ESCAPES:
        arr = pc.replace_substring(arr, ch, esc)
    dq = pc.fill_null(pc.match_substring(arr, '"'), False)
    sq = pc.fill_null(pc.match_substring(arr, "'"), False)
    double = pc.binary_join_element_wise('"', arr, '"', "")
    if not pc.any(dq).as_py():
        return double
    single = pc.binary_join_element_wise("'", arr, "'", "")
    both = pc.binary_join_element_wise('"', pc.replace_substring(arr, '"', "&quot;"), '"', "")
    return pc.if_else(pc.and_(dq, sq), both, pc.if_else(dq, single, double))


def quote_numbers(values, kind: str):
    """A numeric column as quoted attribute values: ``"3"`` (``kind="long"``) or ``"0.25"`` (Python's repr).

    Non-numbers and non-finite values are null (left out).

    Examples
    --------
    >>> quote_numbers([1, 2.5, None], "double").to_pylist(), quote_numbers([3.0, float("inf")], "long").to_pylist()
    (['"1.0"', '"2.5"', None], ['"3"', None])
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    x = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(float)
    ok = np.isfinite(x)
    if kind == "long":
        text = pa.array(np.where(ok, x, 0).astype(np.int64)).cast(pa.string())
    else:
        text = _float_reprs(np.where(ok, x, 0.0))

    return pc.if_else(pa.array(ok), pc.binary_join_element_wise('"', text, '"', ""), pa.scalar(None, pa.string()))


def _float_reprs(x):
    """``repr(float(v))`` of every value of the finite float array ``x``, as an Arrow string array.

    Arrow's cast writes the same shortest round-trip digits as Python's repr,
    but ``1`` for ``1.0``: integral values get ``.0``. Values Python writes in
    exponent notation (below 1e-4 or from 1e16 in size) and values Arrow writes
    so (from about 1e10) take ``float.__repr__``: rare in influence, sentiment
    and tie weights.

    Examples
    --------
    >>> _float_reprs(np.array([1.0, 0.1, -2.5e-7, 1e16, 0.30000000000000004])).to_pylist()
    ['1.0', '0.1', '-2.5e-07', '1e+16', '0.30000000000000004']
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pa.array(x).cast(pa.string())
    a = np.abs(x)
    exponent = pc.match_substring(text, "e").to_numpy(zero_copy_only=False)  # Arrow's exponent notation
    odd = np.flatnonzero(((a < 1e-4) & (a > 0)) | (a >= 1e16) | exponent)
    text = pc.if_else(pa.array(x == np.trunc(x)), pc.binary_join_element_wise(text, ".0", ""), text)
    if len(odd):
        fixed = np.array(text.to_pylist(), dtype=object)
        fixed[odd] = [float.__repr__(v) for v in x[odd].tolist()]
        text = pa.array(fixed.tolist(), pa.string())
    return text


def quote_flags(values):
    """A yes/no column as ``"true"`` / ``"false"`` (null for blanks).

    Examples
    --------
    >>> quote_flags(pd.Series([True, False, None], dtype=object)).to_pylist()
    ['"true"', '"false"', None]
    """
    import pyarrow as pa

    values = pd.Series(values) if not isinstance(values, pd.Series) else values
    blank = values.isna().to_numpy()
    truth = np.array([False if b else bool(v) for v, b in zip(values.to_numpy(object), blank)], bool) \
        if values.dtype == object else values.fillna(False).to_numpy(bool)
    return pa.array(np.where(truth, '"true"', '"false"'), pa.string(), mask=blank)


def join_columns(*parts, null_as_empty: bool = False):
    """Concatenate string columns (and ``str`` constants) row by row.

    A null in any column gives null, unless ``null_as_empty`` (nulls read as "").

    Examples
    --------
    >>> import pyarrow as pa
    >>> join_columns("<a v=", pa.array(['"1"', None]), "/>").to_pylist()
    ['<a v="1"/>', None]
    """
    import pyarrow.compute as pc

    return pc.binary_join_element_wise(*parts, "", null_handling="replace" if null_as_empty else "emit_null",
                                       null_replacement="")


def write_lines(f, arr) -> None:
    """Write every string of ``arr`` (no nulls) to the binary file ``f``, one after the other, in one call.

    Examples
    --------
    >>> import io, pyarrow as pa
    >>> buf = io.BytesIO(); write_lines(buf, pa.array(["a\\n", "bc\\n"]).slice(1)); buf.getvalue()
    b'bc\\n'
    """
    import pyarrow as pa

    arr = one_array(arr)
    if len(arr) == 0:
        return
    if arr.null_count:
        raise ValueError(f"arr has {arr.null_count} null(s); expected lines of text only")
    _, offsets, data = arr.buffers()
    kind = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    bounds = np.frombuffer(offsets, dtype=kind, count=len(arr) + 1, offset=arr.offset * np.dtype(kind).itemsize)
    if data is not None and bounds[-1] > bounds[0]:
        f.write(memoryview(data)[int(bounds[0]):int(bounds[-1])])


# --------------------------------------------------------------------------- quotes folded into the line's constants

#: bytes that may need work before a text can sit between double quotes as it is: ASCII controls, ``& < > "``,
#: and the lead bytes of the UTF-8 forms of the bidi controls (U+061C, U+200E-U+206x) and U+FFFE/U+FFFF
_NOT_PLAIN = np.zeros(256, bool)
_NOT_PLAIN[:0x20] = True
_NOT_PLAIN[[ord(c) for c in '&<>"']] = True
_NOT_PLAIN[[0xD8, 0xE2, 0xEF]] = True


def plain_text(values):
    """``values`` as an Arrow string array when no value needs escaping or dropping (blanks null), else None.

    Such a column's quoted form is ``"`` + value + ``"`` for every row
    (:func:`quote_value`), so the quotes can be constants of the line
    (:func:`attribute_column`) and the column is not copied. The test looks at
    the bytes of the whole column at once and is conservative: any byte that
    could start a character to escape or drop sends the column to
    :func:`quote_values`.

    Examples
    --------
    >>> plain_text(pd.Series(["Ann", None])).to_pylist(), plain_text(pd.Series(["A&B"]))
    (['Ann', None], None)
    """
    arr = _as_text(values)
    if arr is None:
        return None
    if len(arr) == 0:
        return arr
    _, offsets, data = arr.buffers()[:3]
    if data is None:
        return arr
    bounds = np.frombuffer(offsets, dtype=np.int32, count=len(arr) + 1, offset=arr.offset * 4)
    body = np.frombuffer(data, dtype=np.uint8, count=int(bounds[-1]) - int(bounds[0]), offset=int(bounds[0]))
    return None if _NOT_PLAIN[body].any() else arr


def attribute_column(values, kind: str) -> tuple:
    """One column as the text of GEXF attribute values, with the quotes to put around it: ``(text, open, close)``.

    ``open + text + close`` is :func:`quote_values` / :func:`quote_numbers` /
    :func:`quote_flags` of the column for every row (null for blanks), but
    where the quotes are the same on every row they are returned as constants
    and ``text`` is the column itself (text needing no escapes) or its plain
    digits, so no quoted copy of the column is made. Integral doubles write
    their ``.0`` in ``close`` when every value is integral.

    Examples
    --------
    >>> [(t.to_pylist(), o, c) for t, o, c in (attribute_column(pd.Series(["a", None]), "string"),
    ...                                        attribute_column(pd.Series([1.0, 2.0]), "double"))]
    [(['a', None], '"', '"'), (['1', '2'], '"', '.0"')]
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if kind == "string":
        arr = plain_text(values)
        return (arr, '"', '"') if arr is not None else (quote_values(values), "", "")
    if kind == "boolean":
        flags = values if isinstance(values, pd.Series) else pd.Series(values)
        if flags.dtype == bool:  # no blanks: the words alone, the quotes constant
            return pc.if_else(pa.array(flags.to_numpy()), "true", "false"), '"', '"'
        return quote_flags(values), "", ""
    x = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(float)
    ok = np.isfinite(x)
    mask = None if ok.all() else ~ok
    x = np.where(ok, x, 0.0)
    whole = (x == np.trunc(x)) & ~((x == 0) & np.signbit(x))  # -0.0 is written "-0.0"
    if kind == "long" or (whole.all() and np.abs(x).max(initial=0) < 1e16):
        text = pa.array(x.astype(np.int64), mask=mask).cast(pa.string())
        return text, '"', '"' if kind == "long" else '.0"'
    text = _float_reprs(x)
    return (text if mask is None else pc.if_else(pa.array(ok), text, pa.scalar(None, pa.string()))), '"', '"'


def join_lines(parts):
    """Concatenate row by row ``parts``: str constants, and string columns where a null means "leave out".

    Adjacent constants are merged first; a null in a column reads as "".

    Examples
    --------
    >>> import pyarrow as pa
    >>> join_lines(["<a>", "x", pa.array(["1", None]), "</a>"]).to_pylist()
    ['<a>x1</a>', '<a>x</a>']
    """
    merged = []
    for p in parts:
        if isinstance(p, str) and merged and isinstance(merged[-1], str):
            merged[-1] += p
        else:
            merged.append(p)
    return join_columns(*merged, null_as_empty=True)

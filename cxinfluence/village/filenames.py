"""File names for per-account pages (buying-center maps) that cannot collide.

Account ids are customer-supplied text: ``A/1``, ``A_1``, ``a 1`` and ``a_1``
would all become ``A_1`` if unsafe characters were simply replaced, and
``A1`` / ``a1`` are one file on a case-insensitive disk (macOS, Windows). A
name made by :func:`account_file_name` is a readable lower-case slug of the id
followed by a short hash of the *exact* id, so two different ids get two
different names on every file system, and the name uses only ``a-z``, ``0-9``
and ``-`` (safe in a URL, a zip file and on Windows).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

#: Hex digits of SHA-256 kept in a name: 40 bits; :func:`account_file_names`
#: lengthens the hash for the (astronomically rare) ids that would still clash.
HASH_DIGITS = 10
SLUG_MAX = 40


def _slug(account_id: str) -> str:
    text = unicodedata.normalize("NFKD", str(account_id))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    slug = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    return slug[:SLUG_MAX].rstrip("-") or "account"


def account_file_name(account_id, digits: int = HASH_DIGITS, suffix: str = ".html") -> str:
    """A portable file name for one account id: ``<slug>-<hash><suffix>``.

    The slug (lower-case letters, digits and ``-``, at most 40 characters) is
    for people; the hash (the first ``digits`` hex digits of SHA-256 of the
    exact id) keeps ids that differ only by punctuation or case apart.

    Examples
    --------
    >>> account_file_name("A/1")
    'a-1-a5b3d27a72.html'
    >>> account_file_name("A_1") != account_file_name("A/1")
    True
    >>> account_file_name("Ünïcode Corp.")[:13]
    'unicode-corp-'
    """
    digest = hashlib.sha256(str(account_id).encode("utf-8")).hexdigest()[:digits]
    return f"{_slug(account_id)}-{digest}{suffix}"


def account_file_names(account_ids, suffix: str = ".html") -> dict:
    """``{account_id: file name}`` for many ids, unique even when compared case-insensitively.

    Examples
    --------
    >>> names = account_file_names(["A/1", "A_1", "a 1", "a_1", "A1", "a1"])
    >>> len({n.lower() for n in names.values()})
    6
    """
    ids = list(dict.fromkeys(str(a) for a in account_ids))
    digits = HASH_DIGITS
    names = {a: account_file_name(a, digits, suffix) for a in ids}
    while digits < 64:
        seen: dict = {}
        for a, n in names.items():
            seen.setdefault(n.lower(), []).append(a)
        clashing = [a for group in seen.values() if len(group) > 1 for a in group]
        if not clashing:
            return names
        digits = min(64, digits * 2)
        names.update({a: account_file_name(a, digits, suffix) for a in clashing})
    return names

"""Stable pseudonyms, so a report can be shared beyond the account team.

:func:`anonymize_village` returns a new village in which people's names become
``Person 1a2b3c``, account names ``Account 4d5e6f`` and account managers
``Manager 7a8b9c``; the same input always gets the same pseudonym (a salted
SHA-256 of the id), so outputs of repeated runs can be compared. Comments are
scrubbed of every name the village knows (people, accounts, managers, also
first and last names on their own), e-mail addresses and phone numbers. Ids
are kept: they are the keys analysts join on, and are not names.
"""

from __future__ import annotations

import hashlib
import re

import pandas as pd

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE = re.compile(r"\+?\d[\d\s().-]{6,}\d")
MIN_NAME_PART = 3  # shorter name parts ("Li", "Al") would blank ordinary words


def pseudonym(value, prefix: str, salt: str = "cxinfluence") -> str:
    """A stable pseudonym for ``value``.

    >>> pseudonym("S001", "Person")
    'Person dcb6b6'
    >>> pseudonym("S001", "Person") == pseudonym("S001", "Person")
    True
    """
    digest = hashlib.sha256(f"{salt}:{prefix}:{value}".encode()).hexdigest()[:6]
    return f"{prefix} {digest}"


def _pseudonymise(series: pd.Series, keys: pd.Series, prefix: str, salt: str) -> tuple[pd.Series, dict]:
    out = series.copy()
    mapping = {}
    present = series.notna() & (series.astype("string").str.strip() != "")
    for key, original in zip(keys[present], series[present]):
        mapping[str(original)] = pseudonym(key, prefix, salt)
    out[present] = [mapping[str(v)] for v in series[present]]
    return out, mapping


def _scrub_pattern(names: dict) -> re.Pattern | None:
    """One regex matching every known name and its parts, longest first."""
    parts = set()
    for name in names:
        parts.add(name)
        parts.update(p for p in re.split(r"[\s,]+", name) if len(p) >= MIN_NAME_PART)
    if not parts:
        return None
    alternatives = sorted(parts, key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(re.escape(p) for p in alternatives) + r")\b", re.IGNORECASE)


def scrub_text(text: pd.Series, names: dict) -> pd.Series:
    """Replace known names (by their pseudonym, or ``[name]`` for a part),
    e-mail addresses and phone numbers in free text.

    >>> scrub_text(pd.Series(["Ask Jane Roe (jane@acme.com)"]), {"Jane Roe": "Person 1"}).tolist()
    ['Ask Person 1 ([email])']
    """
    pattern = _scrub_pattern(names)
    lookup = {k.lower(): v for k, v in names.items()}

    def replace(match):
        return lookup.get(match.group(0).lower(), "[name]")

    out = text.astype("string").str.replace(EMAIL, "[email]", regex=True)
    out = out.str.replace(PHONE, "[phone]", regex=True)
    if pattern is not None:
        out = out.str.replace(pattern, replace, regex=True)
    return out.astype(object).where(text.notna(), text)


def anonymize_village(village, salt: str = "cxinfluence"):
    """Return a copy of ``village`` with stable pseudonyms for every name.

    Parameters
    ----------
    village : Village
    salt : str
        Change it to make pseudonyms that cannot be linked to another report's.

    Returns
    -------
    Village
        A new village; the input is not modified.
    """
    from dataclasses import replace as dc_replace

    accounts = village.accounts.copy()
    stakeholders = village.stakeholders.copy()
    responses = village.responses.copy()
    names = {}
    if "name" in stakeholders:
        stakeholders["name"], m = _pseudonymise(stakeholders["name"], stakeholders["stakeholder_id"], "Person", salt)
        names.update(m)
    if "name" in accounts:
        accounts["name"], m = _pseudonymise(accounts["name"], accounts["account_id"], "Account", salt)
        names.update(m)
    if "owner" in accounts:
        accounts["owner"], m = _pseudonymise(accounts["owner"], accounts["owner"], "Manager", salt)
        names.update(m)
    if "comment" in responses:
        responses["comment"] = scrub_text(responses["comment"], names)
    from .ids import carry

    return carry(village, dc_replace(village, accounts=accounts, stakeholders=stakeholders, responses=responses))

"""Keyed pseudonyms and name scrubbing, so a report can be shared beyond the account team.

:func:`anonymize_village` returns a new village in which

* people's names become ``Person 1a2b3c4d5e``, account names ``Account ...``
  and account managers ``Manager ...``: HMAC-SHA256 of the stakeholder id,
  account id or manager name under a **secret key**. The same key gives the
  same pseudonyms on every run; without the key nobody can recompute a
  pseudonym from a guessed name (an unkeyed hash of a name can be matched
  against a roster in seconds). The key is read from a file
  (``--anonymize-key FILE``, ``key=`` in Python) or, when none is given,
  generated once and kept outside the output folder, at
  :func:`default_key_path` (mode 0600);
* every free-text cell of every table (titles, departments, segments,
  regions, touchpoints, comments and any extra text column) is scrubbed with
  :class:`NameScrubber`: every known person's, manager's and account's name is
  removed, as are e-mail addresses and phone numbers;
* ids that look like an e-mail address or are written like a phone number
  (a leading ``+`` or ``(``, or spaces between digit groups; a bare
  run of digits is an ordinary id), or that contain a known name
  (``hannah.lindqvist``), get a keyed pseudonym too
  (``person-<hash>``, ``account-<hash>``, ``response-<hash>``), the same one
  in every table, so the tables still join. Other ids are kept: they are the
  keys analysts join on.

The matching rule of :class:`NameScrubber` (words are runs of letters; all
matching is case-folded and accent-folded, so ``José Núñez``, ``JOSE NUNEZ``
and ``jose nunez`` are one name):

* a **full name** (person, manager or account, as written in the village, and
  an account name without a legal suffix such as ``Inc.`` or ``GmbH``) is
  removed wherever its words stand in a row (separated by spaces, ``-``,
  ``.`` or ``'``) or are written together as one word (``greatlakes.example``),
  and replaced by that entity's pseudonym;
* each **part of a person's or manager's name** of two or more letters
  (``Hannah``, ``Li``, ``Ng``) is removed wherever it stands as a word
  (``[name]``), except name particles (``van``, ``de``, ``la``...), which are
  removed only inside the full name, and name parts that are also common
  English words (``Will``, ``Rose``, ``Best``, ``Young``...), which are
  removed only when written with a capital, as a name is (``Will said`` goes,
  ``we will renew`` stays);
* **an account name is removed only as a whole phrase**: ``Great Lakes`` goes,
  while ``great service`` or ``lake`` in a comment stay (a single-word account
  name is a whole phrase, so ``Acme`` goes wherever it stands; a one-word name
  that is a common word, an account ``Best`` or a person ``Will``, goes only
  when capitalised);
* e-mail addresses become ``[email]``, phone numbers (7-15 digits with a
  leading ``+``/``00`` or separators, or a bare run of 9-15 digits; ISO and
  day-month-year dates excepted) ``[phone]``.

What it cannot do: free text can always identify someone in ways no list of
names catches (``the new CFO who came from our competitor``, a nickname, a
misspelling, a name of someone who is not in the village, a name in another
script than the village spells it). Numbers, dates, job titles and the shape
of a buying center can also point to a person in a small account. Treat an
anonymised report as *pseudonymised*, not anonymous: share it more widely
than the raw data, not publicly, and keep the key away from its readers.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import re
import secrets
import stat
import sys
import unicodedata
from pathlib import Path

import pandas as pd

from ..exceptions import AnonymizeKeyError, AnonymizeKeyWarning
from .ids import carry

EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# 7-15 digits written like a phone number: a leading + or 00, or separators between groups,
# or a bare run of 9-15 digits; the candidates are filtered by _is_phone (dates are kept)
PHONE = re.compile(r"(?<![\w.])(?:\+|\b00)?\(?\d[\d\s().\-/]{5,}\d(?![\w])")
_DATE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}")
MIN_NAME_PART = 2
WORD = re.compile(r"[^\W\d_]+")
def _words(text: str) -> frozenset:
    return frozenset(text.split())


#: What may stand between the words of a full name ("Hannah Lindqvist", "Anne-Marie", "O'Brien").
_GAP = re.compile(r"[\s\-.'’]{1,3}")
PARTICLES = _words("""al ap ben bin da das de del della der des di do dos du el la le lo mac mc st ste
    te ten ter van vande vanden vander von zu""")
#: Name parts that are also common English words: removed only when written with a capital.
COMMON_WORDS = _words("""an as at be by do go he if in is it me my no of oh on or so to up us we
    able after also april august baker bank banks bell best bill bishop black blue bond brand bright brown
    butler carter porter potter turner walker weaver
    bush can cash chance church clay cook cross day dean duke early east faith field fields fisher
    ford fox frank free friend gay gold golden good grace grant gray green grey guy hall hart hill
    holly hope house hunt hunter ivy jack joy june just justice king lake lamb lane law lee little
    long love lucky major march mark marsh mason may mercy miles mill miller moon moore new newman
    north oak page park parks price prince rich rose rush sage sharp short small snow son spring
    star steel stone storm street summer sun sunny swift taylor true wall ward warren waters west
    white will wind winter wise wolf wood woods young""")
LEGAL_SUFFIXES = _words("""ab ag as asa bv co company corp corporation gmbh group holding holdings inc
    incorporated kg kk limited llc llp lp ltd ltda nv oy oyj plc pty sa sab sarl sas spa srl""")
_FOLD = str.maketrans({"ø": "o", "Ø": "o", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe", "ł": "l",
                       "Ł": "l", "đ": "d", "Đ": "d", "ð": "d", "Ð": "d", "þ": "th", "Þ": "th", "ı": "i"})
KEY_BYTES = 32


def fold(text: str) -> str:
    """Case- and accent-folded text: ``"José Núñez"`` -> ``"jose nunez"``.

    >>> fold("José NÚÑEZ"), fold("Søren Łukasz"), fold("Straße")
    ('jose nunez', 'soren lukasz', 'strasse')
    """
    text = unicodedata.normalize("NFKD", str(text).translate(_FOLD))
    return "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()


@functools.lru_cache(maxsize=65536)
def _fold_word(word: str) -> str:
    return fold(word)


# --------------------------------------------------------------------------- the key


def default_key_path() -> Path:
    """Where the generated key is kept: ``$XDG_CONFIG_HOME/cxinfluence/anonymize.key``
    (``~/.config/...`` when unset; ``%APPDATA%\\cxinfluence\\anonymize.key`` on Windows)."""
    if sys.platform == "win32" and os.environ.get("APPDATA"):
        base = Path(os.environ["APPDATA"])
    else:
        base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "cxinfluence" / "anonymize.key"


def load_key(key=None, *, out=None) -> tuple[bytes, Path | None, bool]:
    """The secret key for pseudonyms: ``(key bytes, key file or None, whether it was just created)``.

    Parameters
    ----------
    key : bytes, str, Path or None
        ``bytes``: the secret itself (at least 16 bytes). A path: a key file,
        created (32 random bytes as hex, mode 0600) when it does not exist.
        ``None``: the key file at :func:`default_key_path`, created on first use.
    out : path, optional
        The output folder: a key file inside it is refused (it would be shared
        with the outputs it protects).

    Raises
    ------
    AnonymizeKeyError
        The key is too short, unreadable, or inside ``out``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "k.key"
    >>> k, p, created = load_key(path)
    >>> len(k), p == path, created, load_key(path)[0] == k
    (32, True, True, True)
    """

    if isinstance(key, (bytes, bytearray)):
        if len(key) < 16:
            raise AnonymizeKeyError(f"key={bytes(key)!r} is {len(key)} bytes; expected at least 16 random bytes "
                                    "(e.g. secrets.token_bytes(32))")
        return bytes(key), None, False
    path = Path(key).expanduser() if key is not None else default_key_path()
    if out is not None:
        resolved, folder = path.resolve(), Path(out).resolve()
        if resolved == folder or folder in resolved.parents:
            raise AnonymizeKeyError(f"anonymize key {path} is inside the output folder {out}; keep the key "
                                    "elsewhere, or it is shared with the outputs it protects")
    created = False
    if not path.exists():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(secrets.token_hex(KEY_BYTES) + "\n")
            created = True
        except FileExistsError:  # another run created it meanwhile: use theirs
            pass
        except OSError as exc:
            raise AnonymizeKeyError(f"cannot create the anonymize key file {path} ({exc.strerror or exc}); "
                                    "pass --anonymize-key FILE with a writable location") from None
    try:
        raw = path.read_bytes().strip()
    except OSError as exc:
        raise AnonymizeKeyError(f"cannot read the anonymize key file {path} ({exc.strerror or exc})") from None
    try:
        secret = bytes.fromhex(raw.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        secret = raw
    if len(secret) < 16:
        raise AnonymizeKeyError(f"anonymize key file {path} holds {len(secret)} bytes; expected at least 16 "
                                "(delete it to have a new random key made, which changes every pseudonym)")
    if os.name == "posix" and path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        import warnings

        warnings.warn(f"anonymize key file {path} is readable by other users (mode "
                      f"{stat.S_IMODE(path.stat().st_mode):o}); run `chmod 600 {path}`", AnonymizeKeyWarning,
                      stacklevel=2)
    return secret, path, created


def pseudonym(value, prefix: str, key: bytes, digits: int = 10, sep: str = " ") -> str:
    """A stable keyed pseudonym for ``value``: HMAC-SHA256 under ``key``.

    >>> pseudonym("S001", "Person", b"0" * 32)
    'Person c1da8e3843'
    >>> pseudonym("S001", "Person", b"1" * 32) != pseudonym("S001", "Person", b"0" * 32)
    True
    """
    mac = hmac.new(key, f"{prefix}\x00{value}".encode(), hashlib.sha256).hexdigest()
    return f"{prefix}{sep}{mac[:digits]}"


# --------------------------------------------------------------------------- scrubbing


def _is_phone(candidate: str) -> bool:
    digits = sum(ch.isdigit() for ch in candidate)
    if not 7 <= digits <= 15 or _DATE.fullmatch(candidate.strip()):
        return False
    separated = bool(re.search(r"\d[\s().\-/]+\d", candidate))
    return candidate.startswith(("+", "00", "(")) or separated or digits >= 9


def _is_phone_id(value: str) -> bool:
    """An id written like a phone number: 7-15 digits with a leading ``+`` or ``(``, or spaces or
    parentheses between digit groups. Bare digit runs and dashed codes (``0000123456``, ``2024-0001-123``)
    are ordinary ids and are kept."""
    v = value.strip()
    if not re.fullmatch(r"[\d\s().+\-/]+", v) or not 7 <= sum(ch.isdigit() for ch in v) <= 15:
        return False
    return v.startswith(("+", "(")) or bool(re.search(r"\d[\s()]+\d", v))


def _phones(text: str) -> str:
    return PHONE.sub(lambda m: "[phone]" if _is_phone(m.group(0)) else m.group(0), text)


class NameScrubber:
    """Remove known names, e-mail addresses and phone numbers from free text.

    Parameters
    ----------
    people : dict
        ``{full name: replacement}`` for persons and managers (their parts are removed too).
    accounts : dict
        ``{account name: replacement}`` (removed as whole phrases only).

    Examples
    --------
    >>> s = NameScrubber({"José Núñez": "Person 1", "Wei Li": "Person 2"}, {"Great Lakes": "Account 3"})
    >>> s("Ask jose nunez (jose@acme.com, +1 555 010 0199); Li agreed. Great service at Great Lakes Inc.")
    'Ask Person 1 ([email], [phone]); [name] agreed. Great service at Account 3 Inc.'
    """

    def __init__(self, people: dict, accounts: dict | None = None):
        self.phrases: dict[tuple, str] = {}
        self.words: set[str] = set()
        self.capital_words: set[str] = set()
        clashes: set[tuple] = set()

        self.capital_phrases: dict[str, str] = {}

        def add(tokens, replacement):
            if not tokens:
                return
            if len(tokens) == 1 and tokens[0] in COMMON_WORDS:
                # a one-word name that is a common word ("Best"): only when capitalised, as a name is
                old = self.capital_phrases.get(tokens[0], replacement)
                self.capital_phrases[tokens[0]] = replacement if old == replacement else "[name]"
                return
            if tokens in self.phrases and self.phrases[tokens] != replacement:
                clashes.add(tokens)
            self.phrases[tokens] = replacement

        for name, replacement in people.items():
            tokens = tuple(fold(t) for t in WORD.findall(str(name)))
            add(tokens, replacement)
            for t in tokens:
                if len(t) < MIN_NAME_PART or t in PARTICLES:
                    continue
                (self.capital_words if t in COMMON_WORDS else self.words).add(t)
        for name, replacement in (accounts or {}).items():
            tokens = tuple(fold(t) for t in WORD.findall(str(name)))
            add(tokens, replacement)
            bare = tokens
            while len(bare) > 1 and bare[-1] in LEGAL_SUFFIXES:
                bare = bare[:-1]
            add(bare, replacement)
        for tokens, replacement in list(self.phrases.items()):
            if len(tokens) > 1 and ("".join(tokens),) not in self.phrases:
                add(("".join(tokens),), replacement)  # written together: greatlakes.example, #HannahLindqvist
        for tokens in clashes:  # two entities share a name: do not guess which one is meant
            self.phrases[tokens] = "[name]"
        self.longest = max((len(t) for t in self.phrases), default=0)
        self.first_words = {t[0] for t in self.phrases} | set(self.capital_phrases)
        # for ids: name parts of 4+ letters and whole names written together ("hlindqvist", "greatlakes01")
        self.id_parts = {w for w in self.words | self.capital_words if len(w) >= 4}
        self.id_parts |= {"".join(t) for t in self.phrases if len("".join(t)) >= 4}
        self.id_longest = max((len(w) for w in self.id_parts), default=0)

    def __call__(self, text):
        if not isinstance(text, str) or not text:
            return text
        text = EMAIL.sub("[email]", text)
        if any(ch.isdigit() for ch in text):
            text = _phones(text)
        return self._names_only(text)

    def _names_only(self, text: str) -> str:
        matches = list(WORD.finditer(text))
        if not matches:
            return text
        folded = [_fold_word(m.group(0)) for m in matches]
        out, pos, i = [], 0, 0
        while i < len(matches):
            replaced = False
            for n in range(min(self.longest, len(matches) - i), 0, -1):
                tokens = tuple(folded[i:i + n])
                if tokens in self.phrases and all(
                        _GAP.fullmatch(text[matches[j].end():matches[j + 1].start()]) for j in range(i, i + n - 1)):
                    out += [text[pos:matches[i].start()], self.phrases[tokens]]
                    pos, i, replaced = matches[i + n - 1].end(), i + n, True
                    break
            if replaced:
                continue
            word = folded[i]
            capital = matches[i].group(0)[:1].isupper()
            if capital and word in self.capital_phrases:
                out += [text[pos:matches[i].start()], self.capital_phrases[word]]
                pos = matches[i].end()
            elif word in self.words or (capital and word in self.capital_words):
                out += [text[pos:matches[i].start()], "[name]"]
                pos = matches[i].end()
            i += 1
        out.append(text[pos:])
        return "".join(out)

    def found_in_id(self, text) -> bool:
        """Whether an id holds a known name: as words (``_``, ``.`` and ``-`` count as spaces;
        ``hannah.lindqvist``), or a name part of 4+ letters or a whole name inside a word (``hlindqvist``)."""
        spaced = re.sub(r"[_.\-]+", " ", str(text))
        words = [_fold_word(w) for w in WORD.findall(spaced)]
        if any(w in self.words or w in self.capital_words or w in self.first_words for w in words) and \
                self._names_only(spaced) != spaced:
            return True
        letters = "".join(words)
        for n in range(4, min(self.id_longest, len(letters)) + 1):
            if any(letters[i:i + n] in self.id_parts for i in range(len(letters) - n + 1)):
                return True
        return False

    def series(self, s: pd.Series) -> pd.Series:
        """Scrub a text column (each distinct value once); non-text cells are returned as they are."""
        if not len(s):
            return s
        values = s.astype(object)
        uniq = pd.unique(values[values.map(lambda v: isinstance(v, str))])
        mapping = {v: self(v) for v in uniq}
        changed = {k: v for k, v in mapping.items() if k != v}
        if not changed:
            return s
        out = values.map(lambda v: changed.get(v, v) if isinstance(v, str) else v)
        return out.astype(s.dtype) if pd.api.types.is_string_dtype(s) and s.dtype != object else out


def scrub_text(text: pd.Series, names: dict, accounts: dict | None = None) -> pd.Series:
    """Replace known names (full names by their pseudonym, parts by ``[name]``),
    e-mail addresses and phone numbers in a text column.

    >>> scrub_text(pd.Series(["Ask Jane Roe (jane@acme.com)"]), {"Jane Roe": "Person 1"}).tolist()
    ['Ask Person 1 ([email])']
    """
    return NameScrubber(names, accounts).series(text)


# --------------------------------------------------------------------------- the village

#: Columns that are never free text: ids (handled apart), validated categories, derived.
_NOT_TEXT = {"role", "channel", "journey_stage", "kind", "role_source", "veto_source"}
#: (table, id column) -> which id space it belongs to.
_ID_COLUMNS = {
    ("accounts", "account_id"): "account", ("stakeholders", "account_id"): "account",
    ("outcomes", "account_id"): "account", ("stakeholders", "stakeholder_id"): "person",
    ("relationships", "source_id"): "person", ("relationships", "target_id"): "person",
    ("responses", "stakeholder_id"): "person", ("responses", "response_id"): "response",
}


def _text_columns(df: pd.DataFrame, table: str) -> list:
    return [c for c in df.columns if (table, c) not in _ID_COLUMNS and c not in _NOT_TEXT
            and (df[c].dtype == object or pd.api.types.is_string_dtype(df[c]))]


def _names(series: pd.Series, keys: pd.Series, prefix: str, key: bytes) -> tuple[pd.Series, dict]:
    """Pseudonyms for a name column (keyed on ``keys``) and ``{name: pseudonym}``
    (``[name]`` for a name two entities share)."""
    present = (series.notna() & (series.astype("string").str.strip() != "")).to_numpy(dtype=bool)
    pseudo = [pseudonym(k, prefix, key) for k in keys[present]]
    mapping = {}
    for original, p in zip(series[present], pseudo):
        mapping[str(original)] = p if mapping.get(str(original), p) == p else "[name]"
    out = series.astype(object).copy()
    out[present] = pseudo
    return (out.astype(series.dtype) if pd.api.types.is_string_dtype(series) else out), mapping


def _id_mapping(values, kind: str, key: bytes, scrubber: NameScrubber, taken: set) -> dict:
    """``{id: pseudonymous id}`` for ids that look like an e-mail or phone number or hold a known name."""
    import pyarrow as pa
    import pyarrow.compute as pc

    mapping = {}
    values = [v for v in values if isinstance(v, str)]
    if not values:
        return mapping
    # cheap vectorised pre-filter: an "@", 7+ digits, a run of 2+ letters or any non-ASCII character
    # (S0001 has none of them)
    arr = pa.array(values, type=pa.large_string())
    maybe = pc.or_(pc.or_(pc.match_substring(arr, "@"), pc.greater_equal(pc.count_substring_regex(arr, r"\d"), 7)),
                   pc.match_substring_regex(arr, r"\pL{2,}|[^\x00-\x7f]"))
    for v in pc.filter(arr, maybe).to_pylist():
        if v in mapping:
            continue
        if EMAIL.search(v) or _is_phone_id(v) or scrubber.found_in_id(v):
            digits = 12
            new = pseudonym(v, kind, key, digits, sep="-")
            while new in taken or new in mapping.values():
                digits += 4
                new = pseudonym(v, kind, key, digits, sep="-")
            mapping[v] = new
    return mapping


def anonymize_village(village, key=None):
    """Return a copy of ``village`` with keyed pseudonyms and every free-text field scrubbed.

    Parameters
    ----------
    village : Village
    key : bytes, str, Path or None
        The secret key (bytes) or a key file; ``None`` uses (and on first use
        creates) the key file at :func:`default_key_path`. See :func:`load_key`.

    Returns
    -------
    Village
        A new village; the input is not modified. Rows stay in the same order.

    Examples
    --------
    >>> from cxinfluence.village.core import Village
    >>> v = Village(pd.DataFrame({"account_id": ["A1"], "name": ["Great Lakes Inc."], "owner": ["Ana Ng"]}),
    ...             pd.DataFrame({"stakeholder_id": ["jo@gl.com"], "account_id": ["A1"], "name": ["José Li"],
    ...                           "title": ["Assistant to Ana Ng"]}),
    ...             pd.DataFrame({"source_id": [], "target_id": [], "kind": []}),
    ...             pd.DataFrame({"stakeholder_id": ["jo@gl.com"], "comment": ["Great service; ask jose li"]}),
    ...             pd.DataFrame({"account_id": ["A1"]}))
    >>> a = anonymize_village(v, key=b"k" * 32)
    >>> a.stakeholders[["stakeholder_id", "name", "title"]].values.tolist()
    [['person-da6af94897a4', 'Person db609221ed', 'Assistant to Manager 2992986b15']]
    >>> a.responses["comment"].tolist(), a.responses["stakeholder_id"].tolist()
    (['Great service; ask Person db609221ed'], ['person-da6af94897a4'])
    """
    from dataclasses import replace as dc_replace

    secret = load_key(key)[0]
    tables = {name: df.copy() for name, df in village.tables().items()}
    accounts, stakeholders = tables["accounts"], tables["stakeholders"]
    people, account_names = {}, {}
    if "name" in stakeholders:
        stakeholders["name"], m = _names(stakeholders["name"], stakeholders["stakeholder_id"], "Person", secret)
        people.update(m)
    if "owner" in accounts:
        accounts["owner"], m = _names(accounts["owner"], accounts["owner"], "Manager", secret)
        people.update({k: ("[name]" if k in people and people[k] != v else v) for k, v in m.items()})
    if "name" in accounts:
        accounts["name"], m = _names(accounts["name"], accounts["account_id"], "Account", secret)
        account_names.update(m)
    scrubber = NameScrubber(people, account_names)
    for name, df in tables.items():
        for c in _text_columns(df, name):
            if (name, c) in (("stakeholders", "name"), ("accounts", "name"), ("accounts", "owner")):
                continue
            df[c] = scrubber.series(df[c])
    # ids that are e-mails, phone numbers or hold a name: one pseudonym per id, in every table
    for kind in ("account", "person", "response"):
        columns = [(t, c) for (t, c), k in _ID_COLUMNS.items() if k == kind and c in tables[t]]
        values = pd.unique(pd.concat([tables[t][c].astype(object) for t, c in columns], ignore_index=True)) \
            if columns else []
        taken = {v for v in values if isinstance(v, str)}
        mapping = _id_mapping(values, kind, secret, scrubber, taken)
        if mapping:
            for t, c in columns:
                s = tables[t][c]
                tables[t][c] = s.map(lambda v, m=mapping: m.get(v, v)).astype(s.dtype)
    return carry(village, dc_replace(village, **tables))

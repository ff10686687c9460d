"""The mapping file of ``cxinfluence import``: what differs between companies.

A mapping file is TOML (``.toml``) or YAML (``.yaml``/``.yml``). Every section is optional;
without a file the importers use the defaults below and the layouts the vendors document.
Commented examples: ``data/exports/mapping_example.toml`` and ``mapping_example.yaml``.

Sections
--------
``roles``
    Picklist value -> ``role`` or ``role/department`` (matched case-insensitively, ahead of the
    built-in :data:`DEFAULT_ROLES`), e.g. ``"Economic Buyer" = "decider"``,
    ``"LEGAL_AND_COMPLIANCE" = "gatekeeper/legal"``. An empty string means "no role: infer it
    from the title".
``join``
    ``keys``: the order in which survey answers are joined to people, from
    ``["contact_id", "email"]`` (default both, contact id first). E-mails always compare
    trimmed and case-insensitively.
``dates``
    ``formats``: strftime formats tried (in order) before the vendor's own; ``timezone``: the
    zone village dates are expressed in (e.g. ``"Europe/Berlin"``; default: keep the wall-clock
    date the export wrote); ``source_timezone``: the zone of export timestamps that carry none
    (default: ``timezone``, i.e. no shift). Times are dropped after conversion: a village date is a day.
``renewals``
    ``types``: Opportunity ``Type`` values that are renewals (default :data:`DEFAULT_RENEWAL_TYPES`);
    ``period``: ``"year"`` (default), ``"quarter"`` or ``"month"``: the outcome period a
    ``CloseDate`` falls in.
``salesforce``, ``qualtrics``, ``surveymonkey``, ``customergauge``, ``generic``, ``hubspot``, ``gainsight``
    Per-source overrides. Common keys: ``columns`` (village field -> the export's column, e.g.
    ``{csat = "Q5", ces = "Q7"}`` for a survey, or ``{annual_revenue = "ARR__c"}`` under
    ``salesforce.accounts``), ``channel``, ``touchpoint``, ``journey_stage`` (values written on
    every imported response). See each reader for its own keys.

:func:`load_mapping` checks the file and raises :class:`~cxinfluence.exceptions.MappingError`
naming the file and the key of every problem.
"""

from __future__ import annotations

from pathlib import Path

from ...exceptions import MappingError, Problem
from ..schema import CHANNELS, JOURNEY_STAGES, ROLES

#: Role picklist value (lower case) -> (role, department or None). Salesforce's standard
#: ``OpportunityContactRole``/``AccountContactRole`` ``Role`` values come first; then values
#: organisations commonly add. Choices: an *Economic Buyer* (sales-methodology sense: signs off
#: the budget) is a decider, as are decision makers and executive sponsors; a *Technical Buyer*
#: and an *Evaluator* judge the offer without signing: influencers; *Business User* is a user;
#: procurement values are buyers (Webster & Wind's purchasing role); blockers, legal, security
#: and compliance values are gatekeepers. *Other* carries no role (inferred from the title).
DEFAULT_ROLES = {
    "decision maker": ("decider", None),
    "economic buyer": ("decider", None),
    "economic decision maker": ("decider", None),
    "executive sponsor": ("decider", "executive"),
    "business user": ("user", None),
    "evaluator": ("influencer", None),
    "technical buyer": ("influencer", None),
    "influencer": ("influencer", None),
    "champion": ("influencer", None),
    "coach": ("influencer", None),
    "procurement": ("buyer", "procurement"),
    "purchasing": ("buyer", "procurement"),
    "buyer": ("buyer", "procurement"),
    "purchasing agent": ("buyer", "procurement"),
    "gatekeeper": ("gatekeeper", None),
    "blocker": ("gatekeeper", None),
    "legal": ("gatekeeper", "legal"),
    "legal and compliance": ("gatekeeper", "legal"),
    "legal_and_compliance": ("gatekeeper", "legal"),
    "compliance": ("gatekeeper", "legal"),
    "security": ("gatekeeper", "it"),
    "it security": ("gatekeeper", "it"),
    "other": (None, None),
}

#: Opportunity ``Type`` values counted as renewals when the mapping names none.
DEFAULT_RENEWAL_TYPES = ("Renewal", "Existing Customer - Renewal", "Existing Business", "Contract Renewal")

SOURCES = ("salesforce", "qualtrics", "surveymonkey", "customergauge", "generic", "hubspot", "gainsight", "team")
SECTIONS = ("roles", "join", "dates", "renewals") + SOURCES
JOIN_KEYS = ("contact_id", "email")
PERIODS = ("year", "quarter", "month")
#: village fields a survey column can be mapped to
ANSWER_FIELDS = ("nps", "csat", "ces", "neteasy", "trust", "cared_for", "comment", "date", "contact_id", "email",
                 "response_id", "touchpoint", "journey_stage", "channel", "account_id", "name", "title", "question", "answer")


def _read(path: Path, problems):
    suffix = path.suffix.lower()
    text = path.read_text(encoding="utf-8")
    if suffix == ".toml":
        try:
            import tomllib
        except ModuleNotFoundError:  # Python 3.10: the tomli backport, if installed
            try:
                import tomli as tomllib
            except ModuleNotFoundError:
                problems.append(Problem("mapping", path.name, None, None, "reading TOML needs Python 3.11+ or the tomli "
                                        "package (pip install tomli); or write the mapping file as YAML"))
                return None
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            problems.append(Problem("mapping", path.name, None, None, f"not valid TOML ({exc}); fix the syntax"))
            return None
    if suffix in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            row = mark.line + 1 if mark is not None else None
            problems.append(Problem("mapping", path.name, row, None, f"not valid YAML ({getattr(exc, 'problem', exc)}); fix the syntax"))
            return None
        return {} if data is None else data
    problems.append(Problem("mapping", path.name, None, None,
                            f"unknown mapping file type {suffix!r}; use a .toml, .yaml or .yml file"))
    return None


def parse_role(value):
    """``"gatekeeper/legal"`` -> ``("gatekeeper", "legal")``; ``""`` -> ``(None, None)``.

    >>> parse_role("Gatekeeper / Legal"), parse_role("decider"), parse_role("")
    (('gatekeeper', 'legal'), ('decider', None), (None, None))
    """
    text = str(value).strip()
    if not text:
        return None, None
    role, _, dept = text.partition("/")
    return role.strip().lower() or None, dept.strip().lower() or None


def check_mapping(mapping, file="mapping") -> list[Problem]:
    """Every problem in a parsed mapping dict, located by file and key (``roles.BLOCKER``).

    >>> for p in check_mapping({"roles": {"BLOCKER": "stopper"}, "join": {"keys": ["phone"]}}):
    ...     print(p)
    mapping, column 'roles.BLOCKER': unknown role 'stopper'; expected role or role/department with role one of
    decider, buyer, user, influencer, gatekeeper (or "" for none)
    mapping, column 'join.keys': unknown join key 'phone'; expected a list from contact_id, email
    """
    problems = []

    def bad(key, message):
        problems.append(Problem("mapping", file, None, key, message))

    if not isinstance(mapping, dict):
        bad(None, f"the mapping must be a table of sections, got {type(mapping).__name__}")
        return problems
    for key in mapping:
        if key not in SECTIONS:
            bad(str(key), f"unknown section '{key}'; expected one of {', '.join(SECTIONS)}")
    for key, section in mapping.items():
        if key in SECTIONS and not isinstance(section, dict):
            bad(str(key), f"section '{key}' must be a table of keys, got {type(section).__name__} {section!r}")
    sec = {k: v for k, v in mapping.items() if isinstance(v, dict)}
    for value, target in sec.get("roles", {}).items():
        if not isinstance(target, str):
            bad(f"roles.{value}", f"expected text such as \"decider\" or \"gatekeeper/legal\", got {target!r}")
            continue
        role, _ = parse_role(target)
        if role is not None and role not in ROLES:
            bad(f"roles.{value}", f"unknown role '{role}'; expected role or role/department with role one of "
                f"{', '.join(ROLES)} (or \"\" for none)")
    join = sec.get("join", {})
    for k in join:
        if k != "keys":
            bad(f"join.{k}", f"unknown key '{k}'; the join section takes 'keys'")
    if "keys" in join:
        keys = join["keys"]
        if not isinstance(keys, list) or not keys:
            bad("join.keys", f"expected a non-empty list from {', '.join(JOIN_KEYS)}, got {keys!r}")
        else:
            for k in keys:
                if k not in JOIN_KEYS:
                    bad("join.keys", f"unknown join key {k!r}; expected a list from {', '.join(JOIN_KEYS)}")
    dates = sec.get("dates", {})
    for k, v in dates.items():
        if k == "formats":
            if not isinstance(v, list) or not all(isinstance(f, str) and "%" in f for f in v):
                bad("dates.formats", f"expected a list of strftime formats such as [\"%m/%d/%Y %I:%M:%S %p\"], got {v!r}")
        elif k in ("timezone", "source_timezone"):
            try:
                from zoneinfo import ZoneInfo

                ZoneInfo(str(v))
            except (KeyError, ValueError, TypeError, OSError):  # ZoneInfoNotFoundError is a KeyError
                bad(f"dates.{k}", f"unknown time zone {v!r}; expected an IANA name such as \"Europe/Berlin\" or \"UTC\"")
        else:
            bad(f"dates.{k}", f"unknown key '{k}'; the dates section takes formats, timezone, source_timezone")
    ren = sec.get("renewals", {})
    for k, v in ren.items():
        if k == "types":
            if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                bad("renewals.types", f"expected a list of Opportunity Type values, got {v!r}")
        elif k == "period":
            if v not in PERIODS:
                bad("renewals.period", f"unknown period {v!r}; expected one of {', '.join(PERIODS)}")
        else:
            bad(f"renewals.{k}", f"unknown key '{k}'; the renewals section takes types, period")
    for source in SOURCES:
        s = sec.get(source, {})
        for k in ("channel", "journey_stage"):
            allowed = CHANNELS if k == "channel" else JOURNEY_STAGES
            if k in s and str(s[k]).strip().lower() not in allowed:
                bad(f"{source}.{k}", f"unknown {k} {s[k]!r}; expected one of {', '.join(allowed)}")
        cols = s.get("columns")
        if cols is not None and not isinstance(cols, dict):
            bad(f"{source}.columns", f"expected a table of field = \"column name\", got {cols!r}")
        elif cols and source in ("qualtrics", "surveymonkey", "customergauge", "generic"):
            for field, col in cols.items():
                if field not in ANSWER_FIELDS:
                    bad(f"{source}.columns.{field}", f"unknown field '{field}'; expected one of {', '.join(ANSWER_FIELDS)}")
                elif not isinstance(col, str) or not col.strip():
                    bad(f"{source}.columns.{field}", f"expected the export's column name as text, got {col!r}")
    return problems


def load_mapping(path) -> dict:
    """Read and check a mapping file (TOML or YAML); return it as a dict.

    Parameters
    ----------
    path : str or Path or None
        ``.toml``, ``.yaml`` or ``.yml`` file. None returns ``{}`` (all defaults).

    Returns
    -------
    dict
        The parsed sections; ``source`` holds the file name for messages.

    Raises
    ------
    MappingError
        Listing every problem (file, key): unknown sections or keys, unknown roles, bad join
        keys, unknown time zones, bad syntax.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "map.toml"
    >>> _ = p.write_text('[roles]\\n"BLOCKER" = "gatekeeper"\\n[renewals]\\ntypes = ["Renewal"]\\n')
    >>> m = load_mapping(p)
    >>> m["roles"], m["renewals"]["types"]
    ({'BLOCKER': 'gatekeeper'}, ['Renewal'])
    """
    if path is None:
        return {}
    if isinstance(path, dict):
        problems = check_mapping(path)
        if problems:
            raise MappingError(problems, source="mapping")
        return dict(path)
    path = Path(path)
    if not path.is_file():
        raise MappingError([Problem("mapping", str(path), None, None, "mapping file not found; pass an existing .toml or .yaml file")],
                           source=str(path))
    problems = []
    data = _read(path, problems)
    if data is not None:
        problems += check_mapping(data, file=path.name)
    if problems:
        raise MappingError(problems, source=str(path))
    return data


def role_table(mapping) -> dict:
    """The picklist table in force: the mapping's ``roles`` (lower-cased keys) over :data:`DEFAULT_ROLES`.

    >>> role_table({"roles": {"BLOCKER": "gatekeeper/it"}})["blocker"]
    ('gatekeeper', 'it')
    """
    table = dict(DEFAULT_ROLES)
    for value, target in (mapping or {}).get("roles", {}).items():
        table[str(value).strip().lower()] = parse_role(target)
    return table


def section(mapping, name) -> dict:
    """One section of the mapping (``{}`` when absent)."""
    return dict((mapping or {}).get(name) or {})


def join_keys(mapping) -> list:
    """The join key order: ``join.keys`` or ``["contact_id", "email"]``."""
    return list(section(mapping, "join").get("keys") or JOIN_KEYS)

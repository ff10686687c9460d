"""The catalogs a synthetic village draws from (titles, segments, regions, names, comment templates) and
small array helpers. Part of :mod:`cxinfluence.village.synth`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .schema import ROLES

# --------------------------------------------------------------------------- catalogs

#: title, role, department, level (0 executive .. 3 staff), group, weight for extra seats.
#: group 0 = top decider (seat 0), 1 buyer, 2 user, 3 influencer, 4 gatekeeper, 5 other decider.
#: Every (title -> role, department) agrees with the built-in rule table (tested).
TITLE_CATALOG = (
    ("Plant Manager", "decider", "operations", 0, 0, 0.0),
    ("Site Director", "decider", "operations", 0, 0, 0.0),
    ("Plant Director", "decider", "operations", 0, 0, 0.0),
    ("General Manager", "decider", "executive", 0, 0, 0.0),
    ("Managing Director", "decider", "executive", 0, 0, 0.0),
    ("VP Operations", "decider", "operations", 0, 5, 1.0),
    ("Vice President of Manufacturing", "decider", "operations", 0, 5, 0.6),
    ("CFO", "decider", "finance", 0, 5, 0.6),
    ("Chief Financial Officer", "decider", "finance", 0, 5, 0.4),
    ("COO", "decider", "operations", 0, 5, 0.4),
    ("Director of Purchasing", "decider", "procurement", 1, 5, 0.8),
    ("Procurement Director", "decider", "procurement", 1, 5, 0.6),
    ("Director of Engineering", "decider", "engineering", 1, 5, 0.8),
    ("Purchasing Manager", "buyer", "procurement", 1, 1, 1.0),
    ("Strategic Sourcing Manager", "buyer", "procurement", 1, 1, 0.5),
    ("Supply Chain Manager", "buyer", "procurement", 1, 1, 0.6),
    ("Category Manager", "buyer", "procurement", 2, 1, 0.6),
    ("Sr. Purchasing Agent", "buyer", "procurement", 2, 1, 1.0),
    ("Purchasing Agent", "buyer", "procurement", 2, 1, 1.5),
    ("Procurement Specialist", "buyer", "procurement", 2, 1, 1.0),
    ("Senior Buyer", "buyer", "procurement", 2, 1, 0.8),
    ("Buyer", "buyer", "procurement", 3, 1, 1.5),
    ("MRO Buyer", "buyer", "procurement", 3, 1, 0.8),
    ("Operations Manager", "user", "operations", 1, 2, 0.8),
    ("Production Manager", "user", "operations", 1, 2, 0.8),
    ("Production Supervisor", "user", "operations", 2, 2, 1.5),
    ("Shift Supervisor", "user", "operations", 2, 2, 1.5),
    ("Maintenance Supervisor", "user", "maintenance", 2, 2, 1.2),
    ("Maintenance Planner", "user", "maintenance", 3, 2, 0.8),
    ("Machine Operator", "user", "operations", 3, 2, 4.0),
    ("Line Operator", "user", "operations", 3, 2, 2.5),
    ("Forklift Operator", "user", "operations", 3, 2, 0.8),
    ("Process Technician", "user", "operations", 3, 2, 1.5),
    ("Instrument Technician", "user", "operations", 3, 2, 1.0),
    ("Maintenance Technician", "user", "maintenance", 3, 2, 3.0),
    ("Millwright", "user", "maintenance", 3, 2, 0.8),
    ("Electrician", "user", "maintenance", 3, 2, 1.0),
    ("Engineering Manager", "influencer", "engineering", 1, 3, 0.8),
    ("Project Manager", "influencer", "engineering", 2, 3, 0.8),
    ("Senior Process Engineer", "influencer", "engineering", 2, 3, 0.8),
    ("Process Engineer", "influencer", "engineering", 2, 3, 1.5),
    ("Mechanical Engineer", "influencer", "engineering", 2, 3, 1.0),
    ("Controls Engineer", "influencer", "engineering", 2, 3, 1.0),
    ("Electrical Engineer", "influencer", "engineering", 2, 3, 0.8),
    ("Project Engineer", "influencer", "engineering", 2, 3, 1.0),
    ("Reliability Engineer", "influencer", "maintenance", 2, 3, 0.8),
    ("Maintenance Engineer", "influencer", "maintenance", 2, 3, 0.8),
    ("Controller", "influencer", "finance", 1, 3, 0.6),
    ("Plant Controller", "influencer", "finance", 1, 3, 0.6),
    ("Cost Analyst", "influencer", "finance", 2, 3, 0.5),
    ("EHS Manager", "gatekeeper", "safety", 1, 4, 1.2),
    ("Safety Coordinator", "gatekeeper", "safety", 2, 4, 1.0),
    ("HSE Specialist", "gatekeeper", "safety", 2, 4, 0.6),
    ("IT Manager", "gatekeeper", "it", 1, 4, 0.8),
    ("IT Security Lead", "gatekeeper", "it", 2, 4, 0.8),
    ("OT Network Engineer", "gatekeeper", "it", 2, 4, 0.5),
    ("Systems Administrator", "gatekeeper", "it", 3, 4, 0.5),
    ("Quality Assurance Manager", "gatekeeper", "quality", 1, 4, 1.2),
    ("Quality Engineer", "gatekeeper", "quality", 2, 4, 1.0),
    ("Supplier Quality Engineer", "gatekeeper", "quality", 2, 4, 0.5),
    ("QC Supervisor", "gatekeeper", "quality", 2, 4, 0.6),
    ("Facilities Manager", "gatekeeper", "facilities", 1, 4, 0.8),
    ("Facilities Supervisor", "gatekeeper", "facilities", 2, 4, 0.8),
)
#: share of extra seats (beyond the first five) by group: mostly users.
_GROUP_SHARE = np.array([0.0, 0.12, 0.45, 0.18, 0.17, 0.08])

SEGMENTS = {
    "Food & Beverage": 0.2,
    "Chemicals": 0.15,
    "Automotive": 0.12,
    "Metals & Mining": 0.1,
    "Pulp & Paper": 0.08,
    "Pharmaceuticals": 0.1,
    "Utilities": 0.08,
    "Water & Wastewater": 0.07,
    "Building Materials": 0.1,
}
_SEGMENT_WORD = {
    "Food & Beverage": ("Foods", "Beverages", "Dairy", "Bakeries"),
    "Chemicals": ("Chemicals", "Polymers", "Coatings"),
    "Automotive": ("Automotive", "Components", "Castings"),
    "Metals & Mining": ("Steel", "Metals", "Mining"),
    "Pulp & Paper": ("Paper", "Packaging", "Pulp"),
    "Pharmaceuticals": ("Pharma", "Biologics", "Labs"),
    "Utilities": ("Energy", "Power", "Utilities"),
    "Water & Wastewater": ("Water", "Water Authority", "Aqua"),
    "Building Materials": ("Cement", "Glass", "Building Products"),
}
REGIONS = {"North America": 0.4, "EMEA": 0.32, "APAC": 0.18, "LATAM": 0.1}
_PREFIX = (
    "Northfield",
    "Riverside",
    "Apex",
    "Summit",
    "Keystone",
    "Great Lakes",
    "Bluewater",
    "Ironwood",
    "Cedar Ridge",
    "Pinnacle",
    "Harbor",
    "Redstone",
    "Silver Creek",
    "Evergreen",
    "Granite",
    "Westbrook",
    "Lakeshore",
    "Oakmont",
    "Meridian",
    "Sterling",
    "Falcon",
    "Horizon",
    "Prairie",
    "Coastal",
    "Highland",
    "Valley",
    "Atlas",
    "Vanguard",
    "Copperfield",
    "Brightwater",
    "Stonebridge",
    "Eastgate",
    "Nordic",
    "Alpine",
    "Delta",
    "Sunrise",
    "Crescent",
    "Liberty",
    "Heritage",
    "Trident",
)
_SUFFIX = ("Inc.", "LLC", "Corp.", "Ltd", "GmbH", "AG", "S.A.", "Co.", "plc", "B.V.")
_FIRST = (
    "James",
    "Maria",
    "Robert",
    "Linda",
    "Michael",
    "Patricia",
    "David",
    "Jennifer",
    "Carlos",
    "Ana",
    "Wei",
    "Mei",
    "Rajesh",
    "Priya",
    "Thomas",
    "Sabine",
    "Lukas",
    "Anna",
    "Pierre",
    "Claire",
    "Hiroshi",
    "Yuki",
    "Ahmed",
    "Fatima",
    "John",
    "Sarah",
    "Daniel",
    "Laura",
    "Kevin",
    "Emily",
    "Jorge",
    "Lucia",
    "Sven",
    "Ingrid",
    "Tomasz",
    "Katarzyna",
    "Mark",
    "Susan",
    "Paul",
    "Karen",
    "Brian",
    "Nancy",
    "Olusegun",
    "Ngozi",
    "Diego",
    "Camila",
    "Arjun",
    "Kavya",
    "Stefan",
    "Elena",
    "Marco",
    "Giulia",
    "Chris",
    "Jessica",
    "Eric",
    "Rachel",
    "Hans",
    "Greta",
    "Kenji",
    "Sofia",
)
_LAST = (
    "Smith",
    "Johnson",
    "Garcia",
    "Miller",
    "Brown",
    "Davis",
    "Martinez",
    "Wilson",
    "Anderson",
    "Taylor",
    "Thomas",
    "Moore",
    "Martin",
    "Lee",
    "Thompson",
    "White",
    "Lopez",
    "Clark",
    "Lewis",
    "Walker",
    "Schmidt",
    "Müller",
    "Schneider",
    "Fischer",
    "Weber",
    "Dubois",
    "Moreau",
    "Rossi",
    "Bianchi",
    "Kowalski",
    "Nowak",
    "Andersson",
    "Johansson",
    "Tanaka",
    "Suzuki",
    "Sato",
    "Wang",
    "Li",
    "Zhang",
    "Chen",
    "Kumar",
    "Sharma",
    "Patel",
    "Singh",
    "Okafor",
    "Adeyemi",
    "Silva",
    "Santos",
    "Oliveira",
    "Hernandez",
    "Nguyen",
    "Kim",
    "Park",
    "O'Brien",
    "Murphy",
    "Kelly",
    "Novak",
    "Horvat",
    "Jensen",
    "Hansen",
)

_TOUCHPOINT = {
    "delivery": "delivery",
    "quality": "product quality",
    "billing": "invoicing",
    "support": "technical support",
    "pricing": "quotation",
    "safety": "site visit",
    "documentation": "technical documentation",
    "people": "account management",
}
#: theme probabilities by role (rows in ROLES order, columns in THEMES order)
_THEME_BY_ROLE = np.array(
    [
        [0.15, 0.15, 0.05, 0.10, 0.25, 0.05, 0.00, 0.25],  # decider
        [0.25, 0.10, 0.25, 0.05, 0.30, 0.00, 0.00, 0.05],  # buyer
        [0.25, 0.20, 0.00, 0.30, 0.00, 0.10, 0.10, 0.05],  # user
        [0.10, 0.30, 0.00, 0.20, 0.05, 0.05, 0.25, 0.05],  # influencer
        [0.05, 0.30, 0.00, 0.05, 0.00, 0.35, 0.20, 0.05],  # gatekeeper
    ]
)

#: comment templates by theme and tone (positive, mixed, negative)
COMMENT_TEMPLATES = {
    "delivery": (
        (
            "Great service: deliveries arrive on time and complete, which keeps our line running.",
            "Lead times have improved a lot this year; shipments show up when promised.",
            "Great job on the rush delivery last month, it saved us a shutdown.",
        ),
        (
            "Deliveries are mostly on time, but tracking information is often missing.",
            "Lead times are acceptable, though the carrier sometimes leaves pallets at the wrong dock.",
        ),
        (
            "Another late delivery this week; we had to stop the line waiting for parts.",
            "Frustrating: shipments keep arriving short-shipped and we only find out at receiving.",
            "Lead times keep slipping and nobody warns us about the delays.",
        ),
    ),
    "quality": (
        (
            "Product quality is consistent; we have had no rejects since the last change.",
            "Excellent, very reliable parts; our scrap rate went down after switching to you.",
        ),
        (
            "Quality is generally fine, but the last batch needed extra inspection.",
            "Mostly good quality, one non-conformance this quarter was handled slowly.",
        ),
        (
            "We had another defective batch and had to scrap material.",
            "Quality problems again: parts out of spec and rework on our side.",
            "Too many rejects lately; our quality team is questioning you as a supplier.",
        ),
    ),
    "billing": (
        (
            "Invoices are accurate and match our purchase orders, which we appreciate.",
            "Billing is easy to work with; credit notes come through quickly.",
        ),
        (
            "Invoices are usually right, but PO numbers are sometimes missing.",
            "Billing works, though the invoice format does not fit our system.",
        ),
        (
            "Invoices don't match the purchase order again and payment gets blocked.",
            "We were overcharged twice this quarter and the credit note took weeks; unacceptable.",
        ),
    ),
    "support": (
        (
            "Technical support answered within the hour and fixed the issue remotely.",
            "Your field service technician was excellent and very knowledgeable.",
        ),
        (
            "Support is helpful once you reach the right person, but tickets sit in the queue.",
            "The service visit solved the problem, although it took a few days to schedule.",
        ),
        (
            "Support tickets stay open for weeks and nobody calls back; very frustrating.",
            "We waited four days for a service technician while the machine was down, a costly failure.",
            "Escalations go nowhere; the help desk keeps asking for the same information.",
        ),
    ),
    "pricing": (
        (
            "Pricing is fair for the value we get, and quotes come back quickly.",
            "Good value for money; the volume discount was appreciated.",
        ),
        (
            "Prices are acceptable but quotes take too long to come back.",
            "The price increase was explained, but it still hurts our budget.",
        ),
        (
            "Another price increase with no notice; we are unhappy and looking at cheaper alternatives.",
            "Your quotes are well above competitors and the surcharges keep growing; we are not happy.",
        ),
    ),
    "safety": (
        (
            "Your crew follows our safety rules on site; no concerns from EHS.",
            "Safety data sheets were complete and provided before the first delivery.",
        ),
        (
            "Safety practices are fine, but SDS updates arrive late.",
            "Mostly safe work on site, one near miss was reported and handled.",
        ),
        (
            "A contractor of yours ignored our lockout procedure; a dangerous and unacceptable safety issue.",
            "Safety data sheets are missing for the new product; EHS refuses to approve it, which is a problem.",
        ),
    ),
    "documentation": (
        (
            "Documentation is clear and the certificates of analysis come with every shipment.",
            "Manuals and drawings are complete and easy to follow.",
        ),
        (
            "Documentation is usable, though some manuals are outdated.",
            "Certificates arrive, but often a few days after the shipment.",
        ),
        (
            "Certificates of conformance are missing again and we cannot release the material.",
            "The manuals don't match the equipment we received and labels are wrong.",
        ),
    ),
    "people": (
        (
            "Our account manager is responsive and really understands our plant.",
            "Great relationship with your team; they treat us as a partner.",
        ),
        (
            "The account team is friendly, but we rarely see them on site.",
            "Good people, though our main contact changes too often.",
        ),
        (
            "Our account manager never gets back to us; disappointing.",
            "We feel neglected, just another number; nobody from your side visits anymore.",
        ),
    ),
}
#: "our champion left" comments; the departed colleague's title is inserted after the prefix.
_CHAMPION = (
    (
        "Sadly our champion left: since our ",
        " moved on, nobody at your side has re-engaged with us and we feel ignored.",
    ),
    ("Since our ", " left, we have lost our main sponsor for your products and the relationship has gone quiet."),
    ("With our ", " gone, the people who chose you are no longer here; you need to rebuild the relationship."),
)


# --------------------------------------------------------------------------- helpers


def _str(values) -> pd.Series:
    """A pandas ``str`` Series from a list/array of Python strings."""
    return pd.Series(np.asarray(values, dtype=object), dtype="str")


def _take_str(categories, codes) -> pd.Series:
    """Strings ``categories[codes]`` (code -1 = blank), built with pyarrow (fast for 10M rows)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    codes = np.asarray(codes, dtype=np.int64)
    cats = pa.array(list(categories), pa.large_string())
    arr = pc.take(cats, pa.array(codes, mask=codes < 0))
    return _arrow_strings(arr)


def _arrow_strings(arr) -> pd.Series:
    """A pyarrow string array as a pandas ``str`` Series without a round trip through Python objects."""
    try:
        dtype = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas >= 2.3: the default ``str`` dtype
    except TypeError:  # older pandas: object strings
        return pd.Series(arr.to_pandas(), dtype=object)
    return pd.Series(arr.to_pandas(types_mapper=lambda t: dtype))


def _ids(prefix: str, n: int) -> pd.Series:
    """``prefix`` + zero-padded running number, as a pandas ``str`` Series."""
    import pyarrow as pa
    import pyarrow.compute as pc

    width = max(len(str(max(n, 1))), 3)
    num = pc.utf8_lpad(pc.cast(pa.array(np.arange(1, n + 1, dtype=np.int64)), pa.large_string()), width, "0")
    arr = pc.binary_join_element_wise(pa.scalar(prefix, pa.large_string()), num, pa.scalar("", pa.large_string()))
    return _arrow_strings(arr)


def _days(values) -> pd.Series:
    """int days since 1970-01-01 (``_NODATE`` = blank) -> datetime64[ns] Series."""
    v = np.asarray(values, dtype=np.int64)
    out = v.astype("datetime64[D]").astype("datetime64[ns]")
    out[(v <= _NODATE_LOW) | (v >= _NODATE_HIGH)] = np.datetime64("NaT")
    return pd.Series(out)


_NODATE_LOW = np.iinfo(np.int64).min // 4
_NODATE_HIGH = np.iinfo(np.int64).max // 4


def _by_role(mapping, role_code):
    return np.array([mapping[r] for r in ROLES], dtype=float)[role_code]


def _group_sample(rng, group_start, group_size, weights):
    """One index per draw, inside [group_start, group_start + group_size), with probability ∝ weights."""
    cw = np.cumsum(weights)
    base = np.concatenate([[0.0], cw])
    lo = base[group_start]
    hi = base[group_start + group_size]
    x = lo + rng.random(len(group_start)) * (hi - lo)
    idx = np.searchsorted(cw, x, side="right")
    return np.minimum(idx, group_start + group_size - 1)


def _tri_noise(rng, n):
    """Symmetric triangular noise on [-1, 1] with mean 0: U1 + U2 - 1 (sd 0.408)."""
    return rng.random(n, dtype=np.float32) + rng.random(n, dtype=np.float32) - np.float32(1.0)

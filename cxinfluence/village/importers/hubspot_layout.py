"""The HubSpot export layout: the files, the columns read from each (with their aliases), the
picklist values the reader knows, and HubSpot's ids and object types as text.

The reader is :mod:`cxinfluence.village.importers.hubspot` (whose docstring describes the files
and which re-exports the tables here); the mapping file's ``[hubspot.columns]`` overrides any column.
"""

from __future__ import annotations

import pandas as pd

from . import _crm

COMPANY_COLUMNS = {
    "account_id": ("hs_object_id", "Record ID", "Company ID", "companyId", "id"),
    "name": ("name", "Company name", "Company Name"),
    "segment": ("industry", "Industry"),
    "region": ("region", "Region", "country", "Country/Region", "Country"),
    "owner": ("hubspot_owner_name", "Company owner"),
    # revenue FROM the account; HubSpot's own ``annualrevenue`` is the company's turnover, so it is not used
    "annual_revenue": ("hs_arr", "arr", "Annual recurring revenue", "ARR"),
}
CONTACT_COLUMNS = {
    "stakeholder_id": ("hs_object_id", "Record ID", "Contact ID", "vid", "id"),
    "firstname": ("firstname", "First Name"),
    "lastname": ("lastname", "Last Name"),
    "email": ("email", "Email"),
    "title": ("jobtitle", "Job Title"),
    "department": ("department", "Department", "hs_role", "Employment Role"),
    "buying_role": ("hs_buying_role", "Buying Role"),
    "account_id": ("associatedcompanyid", "Primary Associated Company ID", "Associated Company ID", "Company ID"),
    "manager": ("reports_to", "Reports To", "manager_id", "Manager ID", "Manager"),
}
DEAL_COLUMNS = {
    "deal_id": ("hs_object_id", "Record ID", "Deal ID"),
    "stage": ("dealstage", "Deal Stage"),
    "close_date": ("closedate", "Close Date"),
    "amount": ("amount", "Amount"),
    "pipeline": ("pipeline", "Pipeline"),
    "dealtype": ("dealtype", "Deal Type", "Type"),
    "account_id": ("associatedcompanyid", "Associated Company ID", "Company ID"),
}
ASSOCIATION_COLUMNS = {
    "from_type": ("from_object_type", "fromObjectType", "From Object Type", "from_type"),
    "from_id": ("from_id", "fromObjectId", "From Object ID", "from_object_id"),
    "to_type": ("to_object_type", "toObjectType", "To Object Type", "to_type"),
    "to_id": ("to_id", "toObjectId", "To Object ID", "to_object_id"),
    "label": ("association_label", "label", "Association Label", "associationTypes"),
}
FEEDBACK_COLUMNS = {
    "submission_id": ("hs_object_id", "Record ID", "Submission ID"),
    "survey_id": ("hs_survey_id", "Survey ID"),
    "survey_name": ("hs_survey_name", "Survey name", "Survey Name"),
    "survey_type": ("hs_survey_type", "Survey type", "Survey Type"),
    "question": ("hs_question", "Question", "hs_submission_name"),
    "value": ("hs_response_value", "Response value", "Rating"),
    "content": ("hs_content", "Response", "Content", "Comment"),
    "timestamp": ("hs_submission_timestamp", "Submission date", "Submitted at", "hs_createdate", "Create Date"),
    "contact_id": ("hs_contact_id", "Contact ID", "Associated Contact ID", "Associated Contact IDs"),
    "email": ("hs_contact_email_rollup", "Contact email", "Email"),
}

#: HubSpot "Employment Role" (hs_role) internal values -> village department, where they differ.
DEPARTMENTS = {
    "INFORMATION_TECHNOLOGY": "it",
    "QUALITY_ASSURANCE": "quality",
    "HUMAN_RESOURCES": "hr",
    "REAL_ESTATE": "facilities",
    "ACCOUNTING": "finance",
    "SALE": "commercial",
    "MARKETING": "commercial",
    "BUSINESS_DEVELOPMENT": "commercial",
    "CUSTOMER_SERVICE": "commercial",
    "RESEARCH": "engineering",
    "DESIGN": "engineering",
    "PROJECT_MANAGEMENT": "engineering",
    "PRODUCT": "engineering",
}
SURVEY_TYPES = {"NPS": "nps", "CSAT": "csat", "CES": "ces"}
FILES = {
    "companies": ("compan",),
    "contacts": ("contact",),
    "deals": ("deal",),
    "associations": ("association",),
    "feedback": ("feedback", "survey", "submission"),
}


def _object_type(value) -> str | None:
    key = _crm.norm_key(value)
    for prefix, name in (
        ("CONTACT", "contact"),
        ("0_1", "contact"),
        ("COMPAN", "company"),
        ("0_2", "company"),
        ("DEAL", "deal"),
        ("0_3", "deal"),
        ("FEEDBACK", "feedback"),
        ("0_19", "feedback"),
    ):
        if key == prefix or key.startswith(prefix) and not prefix[0].isdigit():
            return name
    return None


def _id_text(s: pd.Series) -> pd.Series:
    """HubSpot record ids as text: "12345.0" (a spreadsheet round trip) -> "12345"."""
    s = s.astype(object).where(s.notna(), None)
    if s.str.contains(".", regex=False).any():
        s = s.str.replace(r"\.0+$", "", regex=True)
    return s.astype(object)


#: HubSpot's documented internal values of the hs_buying_role picklist (named in the import notes)
BUYING_ROLE_VALUES = ("BLOCKER", "BUDGET_HOLDER", "CHAMPION", "DECISION_MAKER", "END_USER", "EXECUTIVE_SPONSOR",
                      "INFLUENCER", "LEGAL_AND_COMPLIANCE", "OTHER")

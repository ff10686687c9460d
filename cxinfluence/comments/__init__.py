"""Informal comments: capture, themes, routing to the groups that can act, recurrence and follow-through."""

from .._api import lazy_exports

_EXPORTS = {
    "template_path": ".capture", "check_comments": ".capture", "read_comments": ".capture",
    "append_comments": ".capture", "theme_rules": ".themes", "tag_themes": ".themes",
    "comment_sentiment": "sentiment.tone", "routing_table": ".themes", "comment_table": ".actions",
    "action_list": ".actions", "theme_summary": ".actions", "action_summary": ".actions", "recurrence": ".followup",
    "follow_through_items": ".followup", "follow_through": ".followup", "STATUSES": ".capture",
    "TEMPLATE_COLUMNS": ".capture", "REQUIRED": ".capture", "DOMAIN_LEXICON": "sentiment.tone",
    "PHRASE_RULES": "sentiment.tone", "RECURRENCE_DAYS": ".actions", "LEVEL_SHARES": ".actions",
}

lazy_exports(__name__, _EXPORTS)

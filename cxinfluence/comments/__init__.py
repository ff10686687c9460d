"""Informal comments: capture, themes, routing to the groups that can act, recurrence and follow-through."""

from .._api import lazy_exports

_EXPORTS = {
    "template_path": ".capture", "check_comments": ".capture", "read_comments": ".capture",
    "append_comments": ".capture", "theme_rules": ".capture", "tag_themes": ".capture",
    "comment_sentiment": "sentiment.tone", "routing_table": ".capture", "comment_table": ".capture",
    "action_list": ".capture", "theme_summary": ".capture", "action_summary": ".capture", "recurrence": ".capture",
    "follow_through_items": ".capture", "follow_through": ".capture", "STATUSES": ".capture",
    "TEMPLATE_COLUMNS": ".capture", "REQUIRED": ".capture", "DOMAIN_LEXICON": "sentiment.tone",
    "PHRASE_RULES": "sentiment.tone", "RECURRENCE_DAYS": ".capture", "LEVEL_SHARES": ".capture",
}

lazy_exports(__name__, _EXPORTS)

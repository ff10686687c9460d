"""The village: the data contract, reading and writing, validation, roles from titles, ids, as-of
rules, the common scale, anonymisation, importers and synthetic villages."""

from .._api import lazy_exports

_EXPORTS = {
    "pseudonym": ".anonymize", "scrub_text": ".anonymize", "anonymize_village": ".anonymize",
    "to_timestamp": ".asof", "active_mask": ".asof", "window_mask": ".asof", "DEFAULT_WINDOW_DAYS": ".asof",
    "Village": ".core", "load_village": ".load", "atomic_folder": ".files", "atomic_file": ".files",
    "lock": ".files", "rows_of": ".ids", "write_village": ".io", "read_tables": ".read",
    "data_dictionary_markdown": ".io", "normalize_title": ".roles", "load_role_rules": ".roles",
    "classify_titles": ".roles", "complete_roles": ".roles", "unclassified_titles": ".roles",
    "title_coverage": ".roles", "to_common_scale": ".scale", "response_sentiment": ".scale", "ROLES": ".schema",
    "RELATIONSHIP_KINDS": ".schema", "CHANNELS": ".schema", "JOURNEY_STAGES": ".schema", "SCORE_RANGES": ".schema",
    "VETO_BY_ROLE": ".schema", "TABLE_ORDER": ".schema", "TruthParams": ".synth", "Truth": ".synth",
    "read_truth": ".synth", "make_village": ".synth", "raw_stakeholders": ".synth", "write_synthetic": ".synth",
    "WORLDS": ".synth", "check_tables": ".validate", "validate_village": ".validate", "problems_table": ".validate",
    "heard_table": ".heard", "default_as_of": ".asof", "resolve_as_of": ".asof", "check_window": ".asof",
    "check_lead": ".asof", "check_half_life": ".asof", "read_output_csv": ".csvsafe",
    "account_file_name": ".filenames", "account_file_names": ".filenames", "import_village": ".importers",
    "write_team_template": ".importers", "BIDI_CONTROLS": ".safetext", "display_text": ".safetext",
    "money": ".safetext", "write_partitioned": ".partitions", "read_partition": ".partitions",
    "split_village": ".partitions", "partition_of": ".partitions", "PartitionedWriter": ".partitions",
    "read_manifest": ".partitions", "is_partitioned": ".partitions", "subset_village": ".subset",
}

lazy_exports(__name__, _EXPORTS)

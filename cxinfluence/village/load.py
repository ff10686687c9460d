"""Load a village from files: :func:`load_village`, for one folder, a workbook or a partitioned village."""

from __future__ import annotations

from .arrowpool import in_arrow_pool
from .core import Village, read_folder
from .partitions import is_partitioned, load_partitioned


@in_arrow_pool  # the village's Arrow text in jemalloc: ~350 MiB less held at 100k accounts (village/arrowpool.py)
def load_village(path, *, role_rules=None, warn=True, partition=None) -> Village:
    """Read and validate a village; return it typed, or raise with every problem.

    Parameters
    ----------
    path : str or Path
        A folder of CSV or Parquet files named after the tables
        (``accounts.csv``, ``stakeholders.csv``, ``relationships.csv``,
        ``responses.csv``, ``outcomes.csv``), or one ``.xlsx`` workbook with a
        sheet per table. Other files and sub-folders (such as ``truth/``) are
        ignored. CSV files must be UTF-8. The files are only read.
    role_rules : DataFrame, dict, str or path, optional
        Extra title -> role rules, ahead of the built-in table (see
        :func:`cxinfluence.village.roles.load_role_rules`).
    warn : bool, default True
        Emit each warning as a :class:`~cxinfluence.exceptions.VillageWarning`
        (titles no rule matches: :class:`~cxinfluence.exceptions.UnclassifiedTitleWarning`);
        they are kept in ``village.problems`` either way.
    partition : int, optional
        For a partitioned village (:func:`cxinfluence.village.partitions.write_partitioned`):
        read only this partition's files. Without it a partitioned folder is read whole.

    Returns
    -------
    Village
        Every contract column is present (blank when the file lacks it), in
        contract order, followed by the file's extra columns (kept as text).
        Ids and text are strings (``"007"`` stays ``"007"``); ``role``,
        ``department``, ``kind``, ``channel`` and ``journey_stage`` are
        stripped and lower-case; dates are ``datetime64[ns]``; numbers and
        scores are ``float64`` (NaN for blank); ``veto`` is ``bool`` (blank
        filled by role); a blank relationship ``weight`` is 1.
        ``stakeholders`` also has ``role_source`` and ``veto_source``
        (see :func:`cxinfluence.village.roles.complete_roles`).

    Raises
    ------
    VillageError
        Listing every error found (file, row as seen in the file, column,
        what was expected); see :mod:`cxinfluence.village.validate` for the checks.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> files = {"accounts": "account_id,annual_revenue\\n007,1200\\n",
    ...          "stakeholders": "stakeholder_id,account_id,title,veto\\nS1,007,Plant Manager,\\nS2,007,EHS Manager,no\\n",
    ...          "relationships": "source_id,target_id,kind\\nS2,S1,reports_to\\n",
    ...          "responses": "stakeholder_id,date,nps,channel\\nS1,2024-05-01,9,Survey\\nS2,2024-05-02,4,informal\\n",
    ...          "outcomes": "account_id,period_end,renewed,bookings\\n007,2024-12-31,1,500\\n"}
    >>> for name, text in files.items():
    ...     _ = (d / f"{name}.csv").write_text(text)
    >>> v = load_village(d)
    >>> v.stakeholders[["stakeholder_id", "account_id", "role", "veto", "role_source", "veto_source"]]
      stakeholder_id account_id        role   veto role_source veto_source
    0             S1        007     decider   True       title        role
    1             S2        007  gatekeeper  False       title        data
    >>> v.responses["channel"].tolist(), str(v.responses["date"].dtype)
    (['survey', 'informal'], 'datetime64[ns]')
    """
    if partition is not None or is_partitioned(path):
        return load_partitioned(path, partition=partition, role_rules=role_rules, warn=warn)
    return read_folder(path, role_rules=role_rules, warn=warn)

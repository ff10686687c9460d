"""Regenerate the synthetic sample exports in this folder (run from the repository root):

    python data/exports/make_exports.py

One synthetic village (cxinfluence.village.synth.make_village(24, seed=13, years=3)) is written in the
HubSpot and Gainsight export layouts, and the account team's workbook is prefilled from the HubSpot
import and filled in with what the synthetic account team knows: the village's influence ties and
their weights, the veto values set in the data, the influence ratings and the departure dates.
"""

from pathlib import Path

import openpyxl
import pandas as pd

from cxinfluence.village.importers.gainsight import write_gainsight_export
from cxinfluence.village.importers.hubspot import hubspot_ids, read_hubspot, write_hubspot_export
from cxinfluence.village.importers.team import write_team_template
from cxinfluence.village.synth import make_village

HERE = Path(__file__).resolve().parent
N_ACCOUNTS, SEED, YEARS = 24, 13, 3


def main():
    village, _truth = make_village(N_ACCOUNTS, seed=SEED, years=YEARS)
    write_hubspot_export(village, HERE / "hubspot", overwrite=True)
    write_gainsight_export(village, HERE / "gainsight", overwrite=True)
    staged = read_hubspot(HERE / "hubspot")
    path = write_team_template(staged.tables, HERE / "team_knowledge_example.xlsx")
    fill_team_workbook(village, path)


def fill_team_workbook(village, path):
    """Fill the template as the account team would, in HubSpot ids."""
    ids = hubspot_ids(village)["contact"]
    st = village.stakeholders.set_index("stakeholder_id")
    wb = openpyxl.load_workbook(path)
    ws = wb["Influence ties"]
    inf = village.relationships[village.relationships["kind"] == "influences"]
    for i, (s, t, w) in enumerate(zip(inf["source_id"], inf["target_id"], inf["weight"]), start=2):
        ws.cell(i, 1, str(st.at[s, "account_id"]))
        ws.cell(i, 2, ids[s])
        ws.cell(i, 3, ids[t])
        ws.cell(i, 4, "influences")
        ws.cell(i, 5, float(w))
    by_hs = {v: k for k, v in ids.items()}
    for sheet, column, value in (("Veto power", 7, lambda p: ("yes" if st.at[p, "veto"] else "no") if st.at[p, "veto_source"] == "data" else None),
                                 ("Influence ratings", 7, lambda p: None if pd.isna(st.at[p, "influence_rating"])
                                  else int(st.at[p, "influence_rating"])),
                                 ("Departures", 7, lambda p: None if pd.isna(st.at[p, "active_to"])
                                  else st.at[p, "active_to"].date())):
        ws = wb[sheet]
        for row in ws.iter_rows(min_row=2):
            person = by_hs[str(row[2].value)]
            row[column - 1].value = value(person)
    wb.save(path)


if __name__ == "__main__":
    main()

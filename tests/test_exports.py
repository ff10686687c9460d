"""GEXF and Kumu exports of buying-center graphs, checked by reading them back."""

import networkx as nx
import openpyxl
import pandas as pd

from cxinfluence.present.exports import kumu_tables, portfolio_graph, write_gexf, write_kumu


def graphs():
    a = nx.DiGraph()
    a.add_node("s1", name="Ann \u202eevil", role="decider", veto=True, active=True, influence=0.7, sentiment=None,
               title="=cmd|' /C calc'!A0")
    a.add_node("s2", name="Bo", role="user", veto=False, active=False, active_to="2025-01-31", influence=0.0,
               sentiment=0.5)
    a.add_edge("s2", "s1", kind="reports_to+influences", weight=3.0)
    b = nx.DiGraph()
    b.add_node("t1", name="Cy", role="buyer", veto=False, active=True, influence=1.0, sentiment=-0.25)
    return {"A1": a, "A2": b}


def test_gexf_round_trip_keeps_people_ties_and_attributes(tmp_path):
    G = graphs()
    path = write_gexf(G, tmp_path / "g.gexf")
    back = nx.read_gexf(path)
    assert set(back.nodes) == {"s1", "s2", "t1"} and set(back.edges) == {("s2", "s1")}
    assert back.nodes["s1"]["name"] == "Ann evil" and back.nodes["s1"]["veto"] is True
    assert back.nodes["t1"]["sentiment"] == -0.25 and back.nodes["t1"]["account_id"] == "A2"
    assert "sentiment" not in back.nodes["s1"]  # not heard: no value rather than a fake one
    assert back.edges["s2", "s1"]["weight"] == 3.0
    assert G["A1"].nodes["s1"]["name"] == "Ann \u202eevil"  # input untouched


def test_gexf_is_the_same_bytes_on_another_day(tmp_path, monkeypatch):
    """networkx stamps today's date into <meta lastmodifieddate>: a run's files must not depend on the day it ran
    (CI once compared a streamed and a local run that straddled midnight)."""
    import networkx.readwrite.gexf as gexf_module

    files = []
    for day in ("2026-12-03", "2026-12-04"):
        monkeypatch.setattr(gexf_module.time, "strftime", lambda fmt, day=day: day)
        files.append(write_gexf(graphs(), tmp_path / f"{day}.gexf").read_bytes())
    assert files[0] == files[1] and b"lastmodifieddate" not in files[0]
    assert set(nx.read_gexf(tmp_path / "2026-12-04.gexf").nodes) == {"s1", "s2", "t1"}


def test_clashing_ids_are_prefixed_with_the_account():
    G = graphs()
    G["A2"] = nx.relabel_nodes(G["A2"], {"t1": "s1"})
    assert set(portfolio_graph(G).nodes) == {"A1/s1", "A1/s2", "A2/s1"}


def test_kumu_workbook_has_elements_and_connections_as_text(tmp_path):
    elements, connections = kumu_tables(graphs())
    assert list(elements.columns[:3]) == ["ID", "Label", "Type"]
    assert list(connections.columns[:3]) == ["From", "To", "Type"]
    assert connections.iloc[0][["From", "To", "Type", "Strength"]].tolist() == ["s2", "s1",
                                                                              "reports to and influences", 3.0]
    path = write_kumu(graphs(), tmp_path / "k.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Elements", "Connections"]
    back = pd.read_excel(path, sheet_name=None)
    assert back["Elements"]["Label"].tolist() == ["Ann evil", "Bo", "Cy"]
    assert back["Elements"]["Title"].iloc[0] == "=cmd|' /C calc'!A0"
    title_cell = wb["Elements"].cell(row=2, column=5)
    assert title_cell.value.startswith("=") and title_cell.data_type == "s"  # text, not a formula
    assert back["Connections"]["From"].tolist() == ["s2"]


def _openpyxl_kumu(graphs, path):
    """write_kumu as it was: openpyxl's Workbook, one cell at a time (the reference for the sheets' bytes)."""
    from openpyxl import Workbook

    from cxinfluence.present.portfolio import stable_xlsx

    wb = Workbook()
    wb.remove(wb.active)
    for name, table in zip(("Elements", "Connections"), kumu_tables(graphs)):
        ws = wb.create_sheet(name)
        ws.append(list(table.columns))
        for r, rec in enumerate(table.itertuples(index=False), start=2):
            for c, value in enumerate(rec, start=1):
                value = None if value is None or (isinstance(value, float) and value != value) else value
                value = value.item() if hasattr(value, "item") else value
                if value is None:
                    continue
                cell = ws.cell(row=r, column=c, value=value)
                if isinstance(value, str):
                    cell.data_type = "s"
    wb.save(path)
    return stable_xlsx(path)


def test_kumu_sheets_are_the_bytes_openpyxl_writes(tmp_path):
    import zipfile

    g = graphs()
    g["A1"].add_node("s3", name=" padded ", title="", role=None, influence=float("inf"), sentiment=-0.0, veto=None)
    g["A1"].add_edge("s3", "s1", kind="influences", weight=0.1 + 0.2)
    new = zipfile.ZipFile(write_kumu(g, tmp_path / "new.xlsx"))
    old = zipfile.ZipFile(_openpyxl_kumu(g, tmp_path / "old.xlsx"))
    assert new.namelist() == old.namelist()
    differ = [n for n in old.namelist() if old.read(n) != new.read(n)]
    assert differ == ["docProps/app.xml"]  # it names cxinfluence, not openpyxl
    assert b'<dimension ref="A1:M5" />' in new.read("xl/worksheets/sheet1.xml")


def test_kumu_drops_characters_xml_cannot_hold(tmp_path):
    g = {"A1": nx.DiGraph()}
    g["A1"].add_node("s1", name="Ann\x01\x0b Lee", role="user")
    back = pd.read_excel(write_kumu(g, tmp_path / "k.xlsx"), sheet_name="Elements")
    assert back["Label"].tolist() == ["Ann Lee"]

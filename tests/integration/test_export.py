"""The Art. 15 export (issue 6 item 6) through real requests: JSON and PDF, for whoever may see
the client, with the client's notes and access log and nobody else's data."""

from __future__ import annotations

import json
import re

from kimdb.privacy import export
from tests.factories import csrf_token, login, make_client, make_user
from tests.integration.test_withdrawal import build_rich_case


def pdf_text(pdf: bytes) -> str:
    """The text of an uncompressed fpdf2 PDF with an embedded TrueType font: glyph ids of the
    ``(...) Tj`` strings mapped back through the font's ToUnicode table."""
    cmap = {}
    for block in re.findall(rb"beginbfchar\n(.*?)endbfchar", pdf, re.S):
        for glyph, code in re.findall(rb"<([0-9A-Fa-f]+)> <([0-9A-Fa-f]+)>", block):
            cmap[int(glyph, 16)] = bytes.fromhex(code.decode()).decode("utf-16-be")
    escapes = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"(": b"(", b")": b")", b"\\": b"\\"}
    lines = []
    for raw in re.findall(rb"\((.*?)(?<!\\)\) Tj", pdf, re.S):
        data = re.sub(rb"\\(.)", lambda m: escapes.get(m.group(1), m.group(1)), raw, flags=re.S)
        ids = [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data) - 1, 2)]
        lines.append("".join(cmap.get(i, "?") for i in ids))
    return "\n".join(lines)


def glyphs_of(char: str, pdf: bytes) -> set[int]:
    """The glyph ids the PDF's ToUnicode tables map to ``char``."""
    found = set()
    for block in re.findall(rb"beginbfchar\n(.*?)endbfchar", pdf, re.S):
        for glyph, code in re.findall(rb"<([0-9A-Fa-f]+)> <([0-9A-Fa-f]+)>", block):
            if bytes.fromhex(code.decode()).decode("utf-16-be") == char:
                found.add(int(glyph, 16))
    return found


def test_json_export_holds_the_clients_data_notes_and_access_log(client, db, anna):
    rich = build_rich_case(anna)
    other = make_client(anna, given="Olena", family="Kovalenko")
    client.get(f"/clients/{rich.client.id}")  # a read that lands in the audit log
    client.get(f"/cases/{rich.case.id}")
    response = client.get(f"/clients/{rich.client.id}/export.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_data()
    assert "Kovalenko" not in body.decode("utf-8") and "Olena" not in body.decode("utf-8")
    data = json.loads(body.decode("utf-8"))
    assert data["format"] == "kimdb-art15" and data["format_version"] == 1
    person = data["person"]
    assert (person["given_name"], person["family_name"]) == ("Amina", "Haddad")
    assert person["date_of_birth"] == "1990-05-17" and person["phone"] == "0170 5551234"
    assert data["consent"]["exchanges"][0]["partner"] == "Jobcenter Kreis Warendorf"
    assert data["household"]["label"] == "Familie Haddad"
    (case,) = data["cases"]
    assert case["number"] == rich.case.number and case["kind"] == "case_management"
    assert [n["text"] for n in case["notes"]] == [
        "Vermerk über das Telefonat",
        "Korrigierter Vermerk",
    ]
    assert case["notes"][1]["supersedes"] == case["notes"][0]["id"]
    assert case["classification_history"][1]["reason"] == "Mehr Bedarfe als gedacht"
    assert {n["description"] for n in case["needs"]} == {
        "Wohnung zu klein für fünf Personen",
        "Sprachkurs B1 abschließen",
    }
    assert case["follow_ups"][0]["text"] == "Frist Widerspruch prüfen"
    actions = [(e["user"], e["role"], e["action"]) for e in data["access_log"]]
    assert ("Cm.Anna", "case_manager", "read:clients.show") in actions
    assert ("Cm.Anna", "case_manager", "read:cases.show") in actions
    assert all("session" not in key for e in data["access_log"] for key in e)
    assert other.id not in {e.get("client_id") for e in data["access_log"]}


def test_export_of_an_erased_client_holds_only_the_remainder(client, db, anna):
    rich = build_rich_case(anna)
    client.post(
        f"/clients/{rich.client.id}/withdrawal",
        data={
            "csrf_token": csrf_token(client, f"/clients/{rich.client.id}/withdrawal"),
            "declared_on": "2026-02-01",
            "confirm": "y",
        },
    )
    data = client.get(f"/clients/{rich.client.id}/export.json").get_json()
    assert data["person"]["family_name"] is None and data["person"]["erased_at"]
    assert data["consent"]["withdrawn_at"] and not data["consent"]["scan"]["stored"]
    assert data["cases"][0]["notes"] == [] and data["cases"][0]["stage"] == "closed"
    assert "write:privacy.withdrawal" in [e["action"] for e in data["access_log"]]


def test_pdf_export_is_a_pdf_with_the_name_in_any_script(client, db, anna):
    rich = build_rich_case(anna, given="Олена", family="Öztürk-حداد")
    response = client.get(f"/clients/{rich.client.id}/export.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.get_data().startswith(b"%PDF-")
    with client.application.app_context():
        from kimdb.clients.models import Client
        from kimdb.extensions import db as app_db

        person = app_db.session.get(Client, rich.client.id)
        from kimdb.auth.models import User

        user = app_db.session.get(User, anna.id)
        data = export.build_export(person, user)
        text = pdf_text(export.render_pdf(data, compress=False, shape=False))
        shaped = export.render_pdf(data, compress=False)
    assert "Name: Олена Öztürk-حداد" in text
    # Shaped with HarfBuzz: the Arabic letters are drawn with their joined forms (glyphs other
    # than the isolated ones a plain run uses).
    plain = export.render_pdf(data, compress=False, shape=False)
    assert glyphs_of("ح", shaped) and glyphs_of("ح", shaped) != glyphs_of("ح", plain)
    assert "Auskunft über Ihre gespeicherten Daten (Art. 15 DSGVO)" in text
    assert "Korrigierter Vermerk" in text
    assert "Wer hat wann auf Ihre Daten zugegriffen?" in text


def test_other_case_manager_and_other_roles_cannot_export(client, db, anna):
    rich = build_rich_case(anna)
    make_user("cm.bert")
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, "cm.bert")
    for suffix in ("json", "pdf"):
        assert client.get(f"/clients/{rich.client.id}/export.{suffix}").status_code == 404

"""Records of processing (issue 6 item 8, GDPR Art. 30): generated from the models' tables and
columns, complete, readable by the administration and the data protection officer only."""

import pytest

from kimdb.auth.models import Role
from kimdb.records import service
from kimdb.records.catalogue import TABLES, Category
from tests.factories import login, make_user


def test_every_table_and_column_of_the_models_is_described(db):
    assert service.missing_entries(db.metadata) == []


def test_a_column_without_an_entry_is_reported(db):
    from sqlalchemy import Column, Integer, MetaData, Table

    metadata = MetaData()
    Table("clients", metadata, *(Column(c, Integer) for c in TABLES["clients"].columns))
    metadata.tables["clients"].append_column(Column("nationality", Integer))
    Table("pets", metadata, Column("id", Integer, primary_key=True))

    missing = service.missing_entries(metadata)

    assert "clients.nationality" in missing and "pets" in missing
    with pytest.raises(service.NotDescribed, match="clients.nationality"):
        service.describe(metadata, 1095)


def test_every_encrypted_column_is_marked_personal(db):
    encrypted = [
        (table.name, column.name)
        for table in db.metadata.sorted_tables
        for column in table.columns
        if service.is_encrypted(column)
    ]
    assert ("clients", "family_name") in encrypted and ("notes", "text") in encrypted
    for table, column in encrypted:
        assert TABLES[table].columns[column] in (Category.PERSONAL, Category.SPECIAL), (
            f"{table}.{column} is encrypted but not marked personal"
        )


def test_search_indexes_are_pseudonymous(db):
    clients = TABLES["clients"].columns
    for name in ("family_name_index", "family_name_phonetic", "date_of_birth_index"):
        assert clients[name] is Category.PSEUDONYMOUS


@pytest.mark.parametrize("role", [Role.ADMIN, Role.DPO])
def test_admin_and_dpo_read_the_records(client, db, role):
    make_user("someone", role=role)
    login(client, "someone")

    page = client.get("/", follow_redirects=True)
    assert "Verarbeitungsverzeichnis" in page.get_data(as_text=True)  # in the navigation
    response = client.get("/records")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Klient:innen" in html and "family_name_phonetic" in html
    assert "verschlüsselt" in html
    assert "Art. 9 Abs. 2 lit. a" in html
    assert f"bis {data_retention(client)} Tage nach Abschluss" in html


def data_retention(http) -> int:
    return http.application.config["RETENTION_DAYS"]


def test_json_download_lists_the_same_tables_and_columns(client, db):
    make_user("dsb", role=Role.DPO)
    login(client, "dsb")

    response = client.get("/records.json")

    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    data = response.get_json()
    tables = {t["name"]: t for t in data["tables"]}
    assert set(tables) == {t.name for t in db.metadata.sorted_tables}
    family = next(c for c in tables["clients"]["columns"] if c["name"] == "family_name")
    assert family == {
        "name": "family_name",
        "category": "personal",
        "category_label": "personenbezogen",
        "encrypted": True,
        "type": "EncryptedText",
    }
    assert any(f["where"] == "KIMDB_STORAGE_DIR/scans" for f in data["files"])


@pytest.mark.parametrize("role", [Role.CASE_MANAGER, Role.SUPERVISOR])
def test_others_may_not_read_the_records(client, db, role):
    make_user("other", role=role)
    login(client, "other")

    assert client.get("/records").status_code == 403
    assert client.get("/records.json").status_code == 403
    assert "Verarbeitungsverzeichnis" not in client.get("/", follow_redirects=True).get_data(
        as_text=True
    )


def test_anonymous_is_sent_to_login(client, db):
    response = client.get("/records")
    assert response.status_code == 302 and "/login" in response.location


def test_access_rules_named_in_the_catalogue_exist_in_the_policy():
    from kimdb.auth import policy

    for name, record in TABLES.items():
        for rule in record.audience.rules:
            assert rule.startswith("role: ") or callable(getattr(policy, rule, None)), (
                f"{name}: unknown policy rule {rule}"
            )

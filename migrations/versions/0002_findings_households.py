"""structural findings and households

Revision ID: 0002_findings_households
Revises: 0001_foundation
Create Date: 2026-11-22 22:45:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0002_findings_households"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None

CATEGORIES = (
    "access", "waiting_times", "language_barrier", "missing_service", "responsibility",
    "procedures", "discrimination", "cooperation", "other",
)


def upgrade():
    op.create_table(
        "findings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column(
            "category",
            sa.Enum(*CATEGORIES, name="finding_category", native_enum=False,
                    create_constraint=True, length=30),
            nullable=False,
        ),
        sa.Column("agency", sa.String(length=200), nullable=False),
        sa.Column("description", sa.LargeBinary(), nullable=False),
        sa.Column("observed_on", sa.Date(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"], name=op.f("fk_findings_organisation_id_organisations")),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["users.id"], name=op.f("fk_findings_recorded_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_findings")),
    )
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.create_index("ix_findings_org_observed", ["organisation_id", "observed_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_findings_recorded_by_id"), ["recorded_by_id"], unique=False)

    op.create_table(
        "households",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.LargeBinary(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"], name=op.f("fk_households_organisation_id_organisations")),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_households_created_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_households")),
    )
    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_households_organisation_id"), ["organisation_id"], unique=False)

    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("household_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_clients_household_id"), ["household_id"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_clients_household_id_households"), "households", ["household_id"], ["id"])


def downgrade():
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_clients_household_id_households"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_clients_household_id"))
        batch_op.drop_column("household_id")
    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_households_organisation_id"))
    op.drop_table("households")
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_findings_recorded_by_id"))
        batch_op.drop_index("ix_findings_org_observed")
    op.drop_table("findings")

"""audit log that stays cheap to write as it grows (issue 8 item 5)

Revision ID: 0010_audit_growth
Revises: 0009_report_indexes
Create Date: 2026-11-23 04:20:00

Measured with bench/audit.py at ten million entries on PostgreSQL: the unique index on the
random ``hash`` values was 1,190 MB (45 % of the table's index space) and about a third to a
half of the index blocks each new entry read from outside shared buffers; nothing looks an
entry up by its hash, and ``flask kimdb audit verify`` checks every hash and link. The time
index becomes a BRIN index on PostgreSQL (entries arrive in time order: 386 MB → 96 kB; the
DPO's one-day search 9 → 17 ms); SQLite keeps a B-tree.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010_audit_growth'
down_revision = '0009_report_indexes'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_audit_entries_hash'), type_='unique')
        batch_op.drop_index(batch_op.f('ix_audit_entries_at'))
    op.create_index('ix_audit_entries_at', 'audit_entries', ['at'], postgresql_using='brin')


def downgrade():
    op.drop_index('ix_audit_entries_at', table_name='audit_entries')
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_entries_at'), ['at'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_audit_entries_hash'), ['hash'])

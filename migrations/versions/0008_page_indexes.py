"""indexes of the daily pages at state scale (issue 8)

Revision ID: 0008_page_indexes
Revises: 0007_statistics
Create Date: 2026-11-23 04:00:00

The start page's and the dashboard's entry-lag query read a case manager's recent
consultations (a parallel scan of all consultations without it: 121 ms at 1 M rows, 0.014 ms
with it); the supervisor's figures read the open cases of the supervised owners (14.3 ms →
0.46 ms at 100,000 cases). Measured by hand in a benchmark database before this migration.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_page_indexes'
down_revision = '0007_statistics'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        'ix_consultations_entered_by_held',
        'consultations',
        ['entered_by_id', 'held_on'],
        postgresql_include=['entered_at'],
    )
    op.create_index(
        'ix_cases_open_owner',
        'cases',
        ['owner_id'],
        postgresql_include=['kind', 'last_activity_on'],
        sqlite_where=sa.text("stage <> 'closed'"),
        postgresql_where=sa.text("stage <> 'closed'"),
    )


def downgrade():
    op.drop_index('ix_cases_open_owner', table_name='cases')
    op.drop_index('ix_consultations_entered_by_held', table_name='consultations')

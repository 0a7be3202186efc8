"""Partners may be named in the public list of participating platforms.

Revision ID: 0002
Revises: 0001

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

# Plain ALTER TABLE, not batch mode: on SQLite, batch mode would rebuild the table, and dropping
# the old partner table fails while feedback rows refer to it (foreign keys are on). Adding a
# column with a constant default, and dropping one (SQLite 3.35+), need no rebuild.


def upgrade():
    # Existing partners stay unlisted until the operator publishes them.
    op.add_column('partner', sa.Column('public', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    op.drop_column('partner', 'public')

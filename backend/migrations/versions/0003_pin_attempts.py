"""Wrong PINs counted in the database, shared by every server process and kept over restarts.

Revision ID: 0003
Revises: 0002

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('pin_attempt',
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('tries', sa.Integer(), nullable=False),
    sa.Column('next_try', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_index(op.f('ix_pin_attempt_next_try'), 'pin_attempt', ['next_try'], unique=False)
    # Its one row (the key) is made by the server on first need, not here.
    op.create_table('pin_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )


def downgrade():
    op.drop_table('pin_key')
    op.drop_index(op.f('ix_pin_attempt_next_try'), table_name='pin_attempt')
    op.drop_table('pin_attempt')

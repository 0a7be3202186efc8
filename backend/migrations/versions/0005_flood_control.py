"""Flood control: spent proofs of work (used_work) and new cases in quarantine (case_hold).

Revision ID: 0005
Revises: 0004

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('used_work',
    sa.Column('work', sa.String(length=64), nullable=False),
    sa.Column('expires', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('work')
    )
    op.create_index(op.f('ix_used_work_expires'), 'used_work', ['expires'], unique=False)
    op.create_table('case_hold',
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('created', sa.BigInteger(), nullable=False),
    sa.Column('until', sa.BigInteger(), nullable=False),
    sa.Column('first_seq', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.PrimaryKeyConstraint('case_id')
    )
    op.create_index(op.f('ix_case_hold_until'), 'case_hold', ['until'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_case_hold_until'), table_name='case_hold')
    op.drop_table('case_hold')
    op.drop_index(op.f('ix_used_work_expires'), table_name='used_work')
    op.drop_table('used_work')

"""A feed that does not group and forgets; feedback only with a receipt, rate-limited.

Existing entries get random ids and their seqs a random order (consecutive ones grouped a
person's hashes into photos and submissions); every cursor given out before is void (the
server answers an old one with a 400 that says to read the feed again). Reports made before
this carried no receipt and cannot be told from forged ones, so they are dropped; platforms
report again. Downgrade removes the rate-limit table; ids, order and dropped reports stay as
they are.

Revision ID: 0004
Revises: 0003

"""
import secrets

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

MAX_ENTRY_ID = 2**31 - 1
_BATCH = 10_000


def upgrade():
    op.create_table('feedback_quota',
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('minute', sa.BigInteger(), nullable=False),
    sa.Column('used', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['partner_id'], ['partner.id'], ),
    sa.PrimaryKeyConstraint('partner_id')
    )
    op.execute("DELETE FROM feedback")
    op.execute("UPDATE feed_entry SET not_violating = 0")
    _renumber()


def _renumber():
    """Random ids and a random seq order for every entry, item_hash following its entries."""
    conn = op.get_bind()
    old_ids = [row[0] for row in conn.execute(sa.text("SELECT id FROM feed_entry"))]
    rng = secrets.SystemRandom()
    new_ids = set()
    while len(new_ids) < len(old_ids):
        new_ids.add(rng.randrange(1, MAX_ENTRY_ID + 1))
    new_ids = list(new_ids)
    seqs = list(range(1, len(old_ids) + 1))
    rng.shuffle(seqs)
    op.create_table('entry_renumbering',
                    sa.Column('old_id', sa.Integer(), primary_key=True),
                    sa.Column('new_id', sa.Integer(), nullable=False),
                    sa.Column('new_seq', sa.BigInteger(), nullable=False))
    table = sa.table('entry_renumbering', sa.column('old_id'), sa.column('new_id'), sa.column('new_seq'))
    rows = [{"old_id": o, "new_id": n, "new_seq": s} for o, n, s in zip(old_ids, new_ids, seqs)]
    for start in range(0, len(rows), _BATCH):
        op.bulk_insert(table, rows[start : start + _BATCH])
    # item_hash refers to the ids: set its rows aside, renumber, put them back.
    op.create_table('item_hash_renumbering',
                    sa.Column('item_id', sa.Integer(), nullable=False),
                    sa.Column('entry_id', sa.Integer(), nullable=False))
    op.execute("INSERT INTO item_hash_renumbering (item_id, entry_id) SELECT item_id, entry_id FROM item_hash")
    op.execute("DELETE FROM item_hash")
    # Through negative numbers: ids and seqs are unique, and a new one may equal an old one.
    op.execute("UPDATE feed_entry SET id = -id, seq = -seq")
    op.execute("UPDATE feed_entry SET "
               "id = (SELECT new_id FROM entry_renumbering WHERE old_id = -feed_entry.id), "
               "seq = (SELECT new_seq FROM entry_renumbering WHERE old_id = -feed_entry.id)")
    op.execute("INSERT INTO item_hash (item_id, entry_id) SELECT h.item_id, r.new_id "
               "FROM item_hash_renumbering h JOIN entry_renumbering r ON r.old_id = h.entry_id")
    op.execute(sa.text("UPDATE feed_state SET seq = :seq WHERE id = 1").bindparams(seq=len(old_ids)))
    op.drop_table('item_hash_renumbering')
    op.drop_table('entry_renumbering')


def downgrade():
    op.drop_table('feedback_quota')

"""The database: cases and their media items, the feed of distinct hashes, partners and feedback.

Nothing here can identify the person: no address, agent, file name or exact time (dates only;
the exceptions hold whole seconds briefly: PinAttempt for at most an hour, UsedWork until its
challenge expires, CaseHold while a case is in quarantine), and the PIN only as a
salted scrypt verifier; partner tokens only as SHA-256 hashes.
"""
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DDL, BigInteger, Boolean, Date, ForeignKey, Index, Integer, SmallInteger, String
from sqlalchemy import UniqueConstraint, event, false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)

ACTIVE = "active"
WITHDRAWN = "withdrawn"
OUTCOMES = ("pending_review", "removed", "not_violating")


class Case(db.Model):
    """One submission: a receipt (id + PIN) for a few media items."""

    __tablename__ = "case"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    pin_verifier: Mapped[str] = mapped_column(String(200))
    created = mapped_column(Date, nullable=False)
    items: Mapped[list["MediaItem"]] = relationship(back_populates="case", order_by="MediaItem.number")


class MediaItem(db.Model):
    """One photo or video of a case, numbered 1..n in submission order."""

    __tablename__ = "media_item"
    __table_args__ = (UniqueConstraint("case_id", "number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("case.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    media: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    case: Mapped[Case] = relationship(back_populates="items")


class FeedEntry(db.Model):
    """One distinct hash as platforms see it; active while any active media item holds it.

    `id` is random (storage.new_entry_ids), so ids say nothing about which hashes came
    together. `not_violating` counts the partners whose report on it is not_violating (the
    feed shows each partner only whether another partner disputes it).

    `seq` is the change sequence: every change to the entry gives it a new, larger seq, handed
    out under one database-wide lock (see storage.writing), so seqs become visible in order and
    a reader's cursor never skips a change that commits later.
    """

    __tablename__ = "feed_entry"
    __table_args__ = (UniqueConstraint("type", "value"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(128))
    quality: Mapped[int | None] = mapped_column(SmallInteger)
    media: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    not_violating: Mapped[int] = mapped_column(Integer, default=0)
    updated = mapped_column(Date, nullable=False)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)


class ItemHash(db.Model):
    """A media item holds a feed entry (one of its hash records)."""

    __tablename__ = "item_hash"
    item_id: Mapped[int] = mapped_column(ForeignKey("media_item.id"), primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("feed_entry.id"), primary_key=True)
    __table_args__ = (Index("ix_item_hash_entry_id", "entry_id"),)


class FeedState(db.Model):
    """A single row: the last change sequence handed out; also the lock that orders feed writers."""

    __tablename__ = "feed_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)


class Partner(db.Model):
    """A participating platform; its bearer token is stored only as a SHA-256 hash.

    `public`: named in the app's list of participating platforms (GET /api/v1/platforms)
    while not revoked. Off unless the operator turns it on: a platform agrees to be named.
    """

    __tablename__ = "partner"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created = mapped_column(Date, nullable=False)
    revoked = mapped_column(Date, nullable=True)
    public: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Feedback(db.Model):
    """A partner's latest outcome for a feed entry it was given (the last word counts)."""

    __tablename__ = "feedback"
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id"), primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("feed_entry.id"), primary_key=True, index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    updated = mapped_column(Date, nullable=False)


class FeedbackQuota(db.Model):
    """How many reports a partner made in its current minute (whole minutes since 1970): the
    feedback rate limit, shared by every server process."""

    __tablename__ = "feedback_quota"
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id"), primary_key=True)
    minute: Mapped[int] = mapped_column(BigInteger)
    used: Mapped[int] = mapped_column(Integer)


class PinAttempt(db.Model):
    """Recent wrong PINs on one case id (see backend/pins.py): how many, and when the next try
    is checked (whole seconds since 1970).

    `key` is the case's stored id, or, for an id that is no case, "#" + a keyed hash of it: the
    text someone typed is never stored. A right PIN deletes the row; a row is forgotten an hour
    (PIN_FORGET_AFTER) after its last delay ran out.
    """

    __tablename__ = "pin_attempt"
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    tries: Mapped[int] = mapped_column(Integer)
    next_try: Mapped[int] = mapped_column(BigInteger, index=True)


class PinKey(db.Model):
    """Random keys, each a row made on first need. Row 1: the server's key of the hash that
    stands in for ids that are no case in PinAttempt, and of the MAC in feed cursors
    (backend/partner.py). Row 2: the key that signs proof-of-work challenges (backend/admission.py)."""

    __tablename__ = "pin_key"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64))


class UsedWork(db.Model):
    """A proof of work already spent on a case (backend/admission.py): SHA-256 of its challenge
    and body digest, kept until its challenge expires (whole seconds since 1970), so it is
    spent once across every server process."""

    __tablename__ = "used_work"
    work: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires: Mapped[int] = mapped_column(BigInteger, index=True)


class CaseHold(db.Model):
    """A new case in quarantine: its feed changes (from change sequence `first_seq` on) are
    held back from partners until `until` (whole seconds since 1970). `created` (seconds) lets
    the operator drop a flood by time (`takeback cases purge`). The row is deleted soon after
    `until`, so the exact time lives no longer than the quarantine (QUARANTINE_SECONDS)."""

    __tablename__ = "case_hold"
    case_id: Mapped[str] = mapped_column(ForeignKey("case.id"), primary_key=True)
    created: Mapped[int] = mapped_column(BigInteger)
    until: Mapped[int] = mapped_column(BigInteger, index=True)
    first_seq: Mapped[int | None] = mapped_column(BigInteger)


# Tables made by create_all (tests) get the FeedState row the migration also inserts.
event.listen(
    FeedState.__table__, "after_create", DDL("INSERT INTO feed_state (id, seq) VALUES (1, 0)")
)

"""All reads and writes of the database: the blueprints call these, never the session directly.

Feed writers (creating a case, withdrawing, feedback) run inside `writing()`, which first takes
a lock on the one FeedState row. Writers are therefore serialized, and the change sequence each
hands out is larger than every sequence already committed: at any moment the committed seqs are
a gap-free prefix of what will ever commit below them, so a reader that saw up to seq S and asks
for "after S" misses nothing, however commits interleave. Writes are small, so the lock is cheap.

Nothing in the feed's order or ids groups a person's hashes into photos: entry ids are random,
and the entries one transaction changes take their seqs in random order (`_publish`).
"""
import hashlib
import math
import secrets
from contextlib import contextmanager
from datetime import datetime, timezone

from flask import current_app
from sqlalchemy import String, any_, bindparam, case as when, delete, func, insert, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from .models import (ACTIVE, WITHDRAWN, Case, CaseHold, FeedEntry, Feedback, FeedbackQuota, ItemHash, MediaItem,
                     Partner, PinAttempt, PinKey, UsedWork, db)

_CHUNK = 500  # values per IN (...) list, well below SQLite's parameter limit
MAX_ENTRY_ID = 2**31 - 1  # the id column is 32-bit
_random = secrets.SystemRandom()


def _clock():
    """Seconds since 1970: the app's CLOCK (tests pass their own)."""
    return current_app.config["CLOCK"]()


def today():
    """Dates only: an exact time could link a case or entry to a moment someone was online."""
    return datetime.now(timezone.utc).date()


class NotFound(LookupError):
    """A referenced row does not exist."""


class NoReceipt(PermissionError):
    """Feedback on an entry the partner was never given (wrong id or value); `number` is its
    position in the request."""

    def __init__(self, number, entry_id):
        super().__init__("feedback[%d]: entry %d with this value was never given to you" % (number, entry_id))
        self.number = number


class RateLimited(Exception):
    """A partner's reports this minute would exceed its limit; `wait` seconds until the next minute."""

    def __init__(self, wait):
        super().__init__("rate limited for %d seconds" % wait)
        self.wait = wait


class _Sequence:
    def __init__(self, last):
        self.last = last

    def next(self):
        self.last += 1
        return self.last


@contextmanager
def writing():
    """One feed-changing transaction: serialized with every other, committed at the end."""
    session = db.session
    session.rollback()  # end any read transaction; objects read before the lock may be stale
    # A write first: on PostgreSQL it row-locks FeedState until commit; on SQLite it takes the
    # database's write lock. Either way other writers wait here, before touching anything.
    session.execute(text("UPDATE feed_state SET seq = seq WHERE id = 1"))
    sequence = _Sequence(session.execute(text("SELECT seq FROM feed_state WHERE id = 1")).scalar_one())
    try:
        yield sequence
        session.flush()
        session.execute(text("UPDATE feed_state SET seq = :seq WHERE id = 1"), {"seq": sequence.last})
        session.commit()
    except BaseException:
        session.rollback()
        raise


def _random_seqs(sequence, count):
    """`count` new seqs in random order: the order of the feed then says nothing about which of
    a transaction's hashes belong to one photo."""
    seqs = [sequence.next() for _ in range(count)]
    _random.shuffle(seqs)
    return seqs


def _publish(entries, sequence, day):
    """Give each changed entry (once) its new seq, in random order (_random_seqs)."""
    entries = list({id(e): e for e in entries}.values())
    for entry, seq in zip(entries, _random_seqs(sequence, len(entries))):
        entry.seq = seq
        entry.updated = day


def _new_entry_ids(count):
    """`count` random ids no entry has. Random, not counted up: consecutive ids would tell a
    partner which hashes were submitted together. Writers hold the feed lock, so no other
    transaction can take one of these meanwhile."""
    ids = set()
    while len(ids) < count:
        drawn = {secrets.randbelow(MAX_ENTRY_ID) + 1 for _ in range(count - len(ids))} - ids
        for chunk in _chunks(sorted(drawn)):
            drawn -= set(db.session.scalars(select(FeedEntry.id).where(FeedEntry.id.in_(chunk))))
        ids |= drawn
    return list(ids)


def _chunks(values, size=_CHUNK):
    values = list(values)
    for i in range(0, len(values), size):
        yield values[i : i + size]


# -- cases -------------------------------------------------------------------------------------


def create_case(case_id, pin_verifier, records, now=0, hold=0):
    """Store a case of MediaRecords; each hash joins (or re-activates) its feed entry.

    `hold` > 0: the case's feed changes stay in quarantine (CaseHold) until `now` + `hold`
    seconds. Core bulk statements, not one ORM object per row: the write lock is held while a
    case of tens of thousands of hashes is numbered, and for no more than that.
    """
    day = today()
    wanted = {}  # (type, value) -> [quality, media]: the first item's media, the best quality
    for record in records:
        for h in record.hashes:
            known = wanted.setdefault((h.type, h.value), [h.quality, record.media])
            if h.quality is not None and h.quality > (known[0] or 0):
                known[0] = h.quality
    with writing() as sequence:
        first_seq = sequence.last + 1
        db.session.execute(insert(Case).values(id=case_id, pin_verifier=pin_verifier, created=day))
        db.session.execute(insert(MediaItem), [
            {"case_id": case_id, "number": n, "media": r.media, "status": ACTIVE} for n, r in enumerate(records, 1)])
        entries = _entry_rows(wanted)
        fresh = iter(_new_entry_ids(len(wanted.keys() - entries.keys())))
        new, changed = [], []
        for key, (quality, media) in wanted.items():
            entry = entries.get(key)
            if entry is None:
                new.append({"id": next(fresh), "type": key[0], "value": key[1], "quality": quality, "media": media,
                            "status": ACTIVE, "not_violating": 0, "updated": day})
            elif entry.status != ACTIVE or (quality is not None and quality > (entry.quality or 0)):
                best = max(quality, entry.quality or 0) if quality is not None else entry.quality
                changed.append({"id": entry.id, "status": ACTIVE, "quality": best, "updated": day})
        _publish_rows(new + changed, sequence)
        ids = {key: row.id for key, row in entries.items()}
        ids.update(((row["type"], row["value"]), row["id"]) for row in new)
        if new:
            _insert_entries(new, day)
        if changed:
            db.session.execute(update(FeedEntry), changed)
        items = dict(db.session.execute(select(MediaItem.number, MediaItem.id).where(MediaItem.case_id == case_id)).all())
        links = {(items[n], ids[(h.type, h.value)]) for n, r in enumerate(records, 1) for h in r.hashes}
        _insert_links(links)
        db.session.execute(delete(CaseHold).where(CaseHold.until <= now))  # ran out: forget the times
        if hold > 0:
            db.session.execute(insert(CaseHold).values(
                case_id=case_id, created=math.floor(now), until=math.ceil(now + hold),
                first_seq=first_seq if sequence.last >= first_seq else None))
    return get_case(case_id)


# PostgreSQL takes many rows fastest as one INSERT of arrays (unnest); elsewhere Core's
# executemany (batched into multi-row INSERTs). Either way, not one ORM object per row.
_UNNEST_ENTRIES = text(
    "INSERT INTO feed_entry (id, type, value, quality, media, status, not_violating, updated, seq) "
    "SELECT i, t, v, q, m, 'active', 0, CAST(:day AS date), s FROM unnest(CAST(:id AS integer[]), "
    "CAST(:type AS varchar[]), CAST(:value AS varchar[]), CAST(:quality AS smallint[]), CAST(:media AS varchar[]), "
    "CAST(:seq AS bigint[])) AS u(i, t, v, q, m, s)")
_UNNEST_LINKS = text("INSERT INTO item_hash (item_id, entry_id) "
                     "SELECT * FROM unnest(CAST(:item AS integer[]), CAST(:entry AS integer[]))")


def _postgres():
    return db.session.get_bind().dialect.name == "postgresql"


def _publish_rows(rows, sequence):
    """_publish for rows as dicts: their new seqs, in random order."""
    for row, seq in zip(rows, _random_seqs(sequence, len(rows))):
        row["seq"] = seq


def _insert_entries(rows, day):
    """Insert new feed entries (dicts with their ids and seqs)."""
    if _postgres():
        columns = {name: [row[name] for row in rows] for name in ("id", "type", "value", "quality", "media", "seq")}
        db.session.execute(_UNNEST_ENTRIES, dict(columns, day=day))
    else:
        db.session.execute(insert(FeedEntry.__table__), rows)


def _insert_links(links):
    """Insert ItemHash rows for (item id, entry id) pairs."""
    links = list(links)
    if _postgres():
        db.session.execute(_UNNEST_LINKS, {"item": [i for i, _ in links], "entry": [e for _, e in links]})
    else:
        db.session.execute(insert(ItemHash.__table__), [{"item_id": i, "entry_id": e} for i, e in links])


def _entry_rows(keys):
    """{(type, value): row (id, status, quality)} of the feed entries that exist, for these keys."""
    by_type = {}
    for type_, value in keys:
        by_type.setdefault(type_, []).append(value)
    found = {}
    postgres = _postgres()
    for type_, values in by_type.items():
        # PostgreSQL takes the values as one array parameter (= ANY): one short statement.
        for chunk in _chunks(values, 10_000 if postgres else _CHUNK):
            match = (FeedEntry.value == any_(bindparam("values", chunk, type_=postgresql.ARRAY(String)))
                     if postgres else FeedEntry.value.in_(chunk))
            rows = db.session.execute(select(FeedEntry.id, FeedEntry.value, FeedEntry.status, FeedEntry.quality)
                                      .where(FeedEntry.type == type_, match))
            found.update(((type_, row.value), row) for row in rows)
    return found


def get_case(case_id):
    return db.session.get(Case, case_id) if isinstance(case_id, str) else None


def case_items(case_id):
    return list(db.session.scalars(select(MediaItem).where(MediaItem.case_id == case_id).order_by(MediaItem.number)))


def item_reports(case_id):
    """{item number: {"matched", "removed", "not_removed"}}: counts of platforms, never which.

    A platform counts once per item, whichever of the item's hashes it reported on: it
    matched if it reported anything, removed if any report says removed, not_removed if it
    reviewed and found no violation (and removed nothing).
    """
    rows = db.session.execute(
        select(MediaItem.number, Feedback.partner_id, Feedback.outcome)
        .join(ItemHash, ItemHash.item_id == MediaItem.id)
        .join(Feedback, Feedback.entry_id == ItemHash.entry_id)
        .where(MediaItem.case_id == case_id)
    )
    outcomes = {}  # number -> partner -> set of outcomes
    for number, partner_id, outcome in rows:
        outcomes.setdefault(number, {}).setdefault(partner_id, set()).add(outcome)
    reports = {}
    for number, by_partner in outcomes.items():
        removed = sum(1 for o in by_partner.values() if "removed" in o)
        not_removed = sum(1 for o in by_partner.values() if "not_violating" in o and "removed" not in o)
        reports[number] = {"matched": len(by_partner), "removed": removed, "not_removed": not_removed}
    return reports


def withdraw(case_id, numbers=None):
    """Withdraw the case's items (all, or those numbered); an entry no active item holds is withdrawn."""
    day = today()
    with writing() as sequence:
        query = select(MediaItem).where(MediaItem.case_id == case_id, MediaItem.status == ACTIVE)
        if numbers is not None:
            query = query.where(MediaItem.number.in_(sorted(set(numbers))))
        items = list(db.session.scalars(query))
        for item in items:
            item.status = WITHDRAWN
        db.session.flush()
        if not items:
            return
        entry_ids = set(db.session.scalars(
            select(ItemHash.entry_id).where(ItemHash.item_id.in_([i.id for i in items]))))
        changed = []
        for chunk in _chunks(sorted(entry_ids)):
            still_held = set(db.session.scalars(
                select(ItemHash.entry_id).distinct()
                .join(MediaItem, MediaItem.id == ItemHash.item_id)
                .where(ItemHash.entry_id.in_(chunk), MediaItem.status == ACTIVE)))
            for entry in db.session.scalars(select(FeedEntry).where(FeedEntry.id.in_(chunk))):
                if entry.id not in still_held and entry.status == ACTIVE:
                    entry.status = WITHDRAWN
                    changed.append(entry)
        _publish(changed, sequence, day)


# -- PIN attempts ------------------------------------------------------------------------------


def _insert_or_skip(model, **values):
    """INSERT ... ON CONFLICT DO NOTHING, on either database."""
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(model).values(**values).on_conflict_do_nothing()


def claim_pin_try(key, now, delay, forget_after):
    """Take the next try at a case's PIN: 0 if it may be checked now, else the seconds to wait.

    The try is counted as wrong before the PIN is checked (forget_pin_tries takes it back when
    it was right), in one short transaction: the UPDATE locks the row (PostgreSQL) or the
    database (SQLite), so of two processes racing for one turn only one gets it, and the other
    sees the new `next_try`. `delay(tries)`: seconds after `tries` wrong PINs until the next is
    checked. A count whose turn came `forget_after` seconds ago starts from zero again.
    """
    session = db.session
    session.rollback()  # a fresh transaction, so the row is read as it is now
    row = PinAttempt.__table__.c
    for _ in range(3):  # a row deleted between the INSERT and the UPDATE: start again
        session.execute(_insert_or_skip(PinAttempt, key=key, tries=0, next_try=0))
        tries = session.execute(
            update(PinAttempt).where(row.key == key, row.next_try <= now)
            .values(tries=when((row.next_try <= now - forget_after, 1), else_=row.tries + 1))
            .returning(row.tries)).scalar_one_or_none()
        if tries is not None:
            wait = delay(tries)
            # Whole seconds: the row should say no more about when someone was online than it must.
            next_try = math.ceil(now + wait) if wait else math.floor(now)
            session.execute(update(PinAttempt).where(row.key == key).values(next_try=next_try))
            if tries == 1:  # a new count: forget old ones, so the table stays small
                # Rows another transaction holds are skipped (PostgreSQL; SQLite has one writer
                # anyway): this never waits, so it can never deadlock with another cleanup.
                old = (select(row.key).where(row.next_try <= now - forget_after).limit(1000)
                       .with_for_update(skip_locked=True))
                session.execute(delete(PinAttempt).where(row.key.in_(old)))
            session.commit()
            return 0
        next_try = session.scalar(select(row.next_try).where(row.key == key))
        session.commit()
        if next_try is not None:
            return next_try - now
    raise RuntimeError("the PIN attempt of a case kept disappearing")


def pin_wait(key, now):
    """Seconds until the next PIN for `key` is checked (0: now), as last committed; a quick look
    that takes no lock. claim_pin_try decides."""
    next_try = db.session.scalar(select(PinAttempt.next_try).where(PinAttempt.key == key))
    return max(0, (next_try or 0) - now)


def forget_pin_tries(key):
    """A right PIN: its case starts afresh."""
    db.session.execute(delete(PinAttempt).where(PinAttempt.key == key))
    db.session.commit()


def pin_key(row=1):
    """The random key (hex) of the hash that stands in for ids that are no case, and of the feed
    cursor's MAC; made once, then kept by the app. (Row 2 is work_key's.)"""
    keys = current_app.extensions.setdefault("takeback_keys", {})
    if row not in keys:
        key = db.session.scalar(select(PinKey.key).where(PinKey.id == row))
        if key is None:
            db.session.execute(_insert_or_skip(PinKey, id=row, key=secrets.token_hex(32)))
            db.session.commit()
            key = db.session.scalar(select(PinKey.key).where(PinKey.id == row))
        keys[row] = key
    return keys[row]


# -- admission and quarantine (backend/admission.py, docs/API.md) ------------------------------


def work_key():
    """The random key (hex) that signs proof-of-work challenges; made once."""
    return pin_key(row=2)


def spend_work(work, expires, now):
    """Record proof of work `work` (hex) as spent until `expires`; False if it already was."""
    session = db.session
    session.rollback()
    row = UsedWork.__table__.c
    spent = session.execute(_insert_or_skip(UsedWork, work=work, expires=expires).returning(row.work)).first() is not None
    # Forget expired work (never waiting on rows another transaction holds, as claim_pin_try does).
    old = select(row.work).where(row.expires < now - 60).limit(1000).with_for_update(skip_locked=True)
    session.execute(delete(UsedWork).where(row.work.in_(old)))
    session.commit()
    return spent


def _held_from(now):
    """The first change sequence still in quarantine at `now` (a scalar subquery; NULL if none).
    Partners see only changes below it: a reader's cursor never passes a held change."""
    return select(func.min(CaseHold.first_seq)).where(CaseHold.until > now).scalar_subquery()


def _visible(query, now):
    held = _held_from(now)
    return query.where(or_(held.is_(None), FeedEntry.seq < held))


def held_cases(since, now):
    """Ids of the cases created at or after `since` (seconds) that are still in quarantine."""
    return list(db.session.scalars(select(CaseHold.case_id).where(CaseHold.created >= since, CaseHold.until > now)
                                   .order_by(CaseHold.created)))


def purge_held(case_id):
    """Withdraw a case in quarantine and end its hold: partners only ever see its entries withdrawn."""
    withdraw(case_id, None)
    db.session.execute(delete(CaseHold).where(CaseHold.case_id == case_id))
    db.session.commit()


# -- the feed and matching ---------------------------------------------------------------------


def feed_after(seq, limit, type_=None):
    """Feed entries changed after change sequence `seq`, oldest change first, up to the first
    change still in quarantine (one statement, so one snapshot of both tables).

    `type_`: only entries of this hash type, or of these types (a list or tuple).
    """
    query = _visible(select(FeedEntry).where(FeedEntry.seq > seq), _clock())
    if isinstance(type_, str):
        query = query.where(FeedEntry.type == type_)
    elif type_ is not None:
        query = query.where(FeedEntry.type.in_(list(type_)))
    return list(db.session.scalars(query.order_by(FeedEntry.seq).limit(limit)))


def active_entries(ids):
    found = {}
    for chunk in _chunks(sorted(set(ids))):
        found.update((e.id, e) for e in db.session.scalars(
            select(FeedEntry).where(FeedEntry.id.in_(chunk), FeedEntry.status == ACTIVE)))
    return found


def active_entries_by_value(type_, values):
    """{value: FeedEntry} of active entries of an exact type with one of these values."""
    found = {}
    now = _clock()
    for chunk in _chunks(sorted(set(values))):
        found.update((e.value, e) for e in db.session.scalars(_visible(
            select(FeedEntry).where(FeedEntry.type == type_, FeedEntry.value.in_(chunk), FeedEntry.status == ACTIVE), now)))
    return found


def feed_head():
    """The last change sequence committed and out of quarantine (every seq up to it is
    committed, see writing, and none held back). One statement: one snapshot of both tables."""
    head, held = db.session.execute(text(
        "SELECT seq, (SELECT min(first_seq) FROM case_hold WHERE until > :now) FROM feed_state WHERE id = 1"),
        {"now": _clock()}).one()
    return head if held is None else min(head, held - 1)


def feed_page(after, begun, limit):
    """A partner's page: entries changed after `after`, oldest change first, leaving out the
    entries withdrawn at or before sequence `begun` (when the reader started from the beginning:
    it never held them, so it is not even told they existed)."""
    query = select(FeedEntry).where(FeedEntry.seq > after, or_(FeedEntry.status == ACTIVE, FeedEntry.seq > begun))
    query = _visible(query, _clock())  # up to the first change still in quarantine
    return list(db.session.scalars(query.order_by(FeedEntry.seq).limit(limit)))


def disputed(partner_id, entries):
    """{entry id: whether a partner other than this one reported it not_violating}."""
    own = set()
    for chunk in _chunks(sorted(e.id for e in entries if e.not_violating)):
        own.update(db.session.scalars(select(Feedback.entry_id).where(
            Feedback.partner_id == partner_id, Feedback.entry_id.in_(chunk), Feedback.outcome == "not_violating")))
    return {e.id: e.not_violating - (e.id in own) >= 1 for e in entries}


def _entries_by_id(ids):
    entries = {}
    for chunk in _chunks(ids):
        entries.update((e.id, e) for e in db.session.scalars(select(FeedEntry).where(FeedEntry.id.in_(chunk))))
    return entries


def _check_receipts(reports, entries):
    for number, (entry_id, value, _) in enumerate(reports):
        entry = entries.get(entry_id)
        if entry is None or entry.value != value:
            raise NoReceipt(number, entry_id)


def record_feedback(partner_id, reports, now, per_minute):
    """Store a partner's reports [(entry id, the entry's hash value, outcome)]; one per partner
    and entry (a later report replaces the earlier one).

    The value is the receipt: a partner knows it only if the feed or a match answer gave it the
    entry. Raises NoReceipt for a wrong id or value, and RateLimited when the reports would
    take the partner over `per_minute` in this minute (`now`: seconds since 1970); either way
    nothing is stored. An entry's disputed signal (is there a not_violating report from another
    partner?) is part of the entry, so when it can change for someone the entry reappears in
    the feed.
    """
    day = today()
    ids = sorted({entry_id for entry_id, _, _ in reports})
    minute = int(now // 60)
    wait = max(1, math.ceil((minute + 1) * 60 - now))  # until the next minute starts
    # Checked first without the feed lock (an id's value never changes), so a flood of
    # refused reports does not hold up the writers of the feed.
    _check_receipts(reports, _entries_by_id(ids))
    quota = db.session.get(FeedbackQuota, partner_id)
    if quota is not None and quota.minute == minute and quota.used + len(reports) > per_minute:
        raise RateLimited(wait)
    with writing() as sequence:
        entries = _entries_by_id(ids)
        _check_receipts(reports, entries)
        quota = db.session.get(FeedbackQuota, partner_id)  # again, under the lock: this one counts
        if quota is None:
            quota = FeedbackQuota(partner_id=partner_id, minute=minute, used=0)
            db.session.add(quota)
        elif quota.minute != minute:
            quota.minute, quota.used = minute, 0
        if quota.used + len(reports) > per_minute:
            raise RateLimited(wait)
        quota.used += len(reports)
        previous = {}
        for chunk in _chunks(ids):
            previous.update((f.entry_id, f) for f in db.session.scalars(
                select(Feedback).where(Feedback.partner_id == partner_id, Feedback.entry_id.in_(chunk))))
        final = {entry_id: outcome for entry_id, _, outcome in reports}  # last word within the request too
        changed = []
        for entry_id, outcome in final.items():
            feedback = previous.get(entry_id)
            was = feedback.outcome if feedback else None
            if feedback is None:
                db.session.add(Feedback(partner_id=partner_id, entry_id=entry_id, outcome=outcome, updated=day))
            elif was != outcome:
                feedback.outcome = outcome
                feedback.updated = day
            delta = (outcome == "not_violating") - (was == "not_violating")
            if delta:
                entry = entries[entry_id]
                before = entry.not_violating
                entry.not_violating += delta
                # disputed (for some partner) changes only between 0, 1 and 2 or more such reports
                if min(before, 2) != min(entry.not_violating, 2):
                    changed.append(entry)
        _publish(changed, sequence, day)


# -- partners ----------------------------------------------------------------------------------


def token_hash(token):
    # Tokens carry 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def add_partner(name, public=False):
    """Create a partner; returns its token, which exists only in this return value."""
    token = "tb_" + secrets.token_urlsafe(32)
    db.session.add(Partner(name=name, token_hash=token_hash(token), created=today(), public=public))
    db.session.commit()
    return token


def partners():
    return list(db.session.scalars(select(Partner).order_by(Partner.name)))


def partner_by_name(name):
    return db.session.scalars(select(Partner).where(Partner.name == name)).first()


def set_partner_public(name, public):
    """Name the partner in the public list (while not revoked), or stop. False if no such partner."""
    result = db.session.execute(update(Partner).where(Partner.name == name).values(public=public))
    db.session.commit()
    return result.rowcount == 1


def public_platforms():
    """Names of the public, unrevoked partners, sorted ignoring case (in Python: databases
    collate differently)."""
    names = db.session.scalars(select(Partner.name).where(Partner.public.is_(True), Partner.revoked.is_(None)))
    return sorted(names, key=lambda name: (name.casefold(), name))


def revoke_partner(name):
    """Revoke at once: every request looks the token up afresh. False if no such active partner."""
    result = db.session.execute(
        update(Partner).where(Partner.name == name, Partner.revoked.is_(None)).values(revoked=today()))
    db.session.commit()
    return result.rowcount == 1


def partner_for_token(token):
    if not token:
        return None
    return db.session.scalars(
        select(Partner).where(Partner.token_hash == token_hash(token), Partner.revoked.is_(None))).first()

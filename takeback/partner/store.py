"""The local store: the platform's copy of the hash feed, in SQLite.

One row per active feed entry (keyed by the feed id) in its latest state, and the feed
cursor. A tombstone (a withdrawn entry, sent without its hash) deletes the entry's row: only
its id, type and the cursor of its page stay (table `dropped`, no hash), so a running Matcher
takes it out of its index on refresh(). Each feed page is applied in one transaction together
with the cursor it ends at, so a sync stopped at any point (kill -9 included) resumes from
the last page it committed: nothing lost, nothing applied twice (applying a page again
would be harmless anyway: rows are replaced by id).

A store from before the server's migration 0004 (ids renumbered; it has the column
not_violating) is emptied when opened: its ids mean nothing any more, and the next
sync reads the feed again from the beginning.
"""
import sqlite3

SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    id INTEGER PRIMARY KEY,          -- the feed entry id
    type TEXT NOT NULL,
    value TEXT NOT NULL,
    quality INTEGER,
    media TEXT NOT NULL,
    status TEXT NOT NULL,            -- active
    updated TEXT NOT NULL,
    disputed INTEGER NOT NULL DEFAULT 0,  -- another platform found no violation on a match
    seq INTEGER NOT NULL             -- the feed sequence of the page that brought this state
);
CREATE INDEX IF NOT EXISTS entries_value ON entries (type, value);
CREATE INDEX IF NOT EXISTS entries_seq ON entries (seq);          -- Matcher.refresh: changes since
CREATE TABLE IF NOT EXISTS dropped (  -- entries a tombstone deleted: for Matcher.refresh only
    id INTEGER PRIMARY KEY,
    type TEXT NOT NULL,
    seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS dropped_seq ON dropped (seq);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

FIELDS = ("id", "type", "value", "quality", "media", "status", "updated", "disputed")
ACTIVE = "active"


_UPSERT = "INSERT INTO entries (%s, seq) VALUES (%s) ON CONFLICT (id) DO UPDATE SET %s" % (
    ", ".join(FIELDS), ", ".join("?" * (len(FIELDS) + 1)),
    ", ".join("%s = excluded.%s" % (f, f) for f in FIELDS[1:] + ("seq",)))


def entry_dict(row):
    """A row of `entries` (FIELDS) as the feed sent it."""
    entry = dict(zip(FIELDS, row))
    entry["disputed"] = bool(entry["disputed"])
    return entry


class StoreError(Exception):
    pass


class LocalStore:
    def __init__(self, path):
        self.path = str(path)
        self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA cache_size=-262144")  # up to 256 MB of page cache: the value index is random-access
        self._forget_old_feed()
        self.db.executescript(SCHEMA)

    def _forget_old_feed(self):
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(entries)")}
        if "not_violating" in columns:
            self.db.executescript("BEGIN IMMEDIATE; DROP TABLE IF EXISTS entries; DROP TABLE IF EXISTS dropped; "
                                  "DELETE FROM state WHERE key = 'cursor'; COMMIT;")

    def close(self):
        self.db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _get(self, key, default=None):
        row = self.db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return default if row is None else row[0]

    @property
    def cursor(self):
        return self._get("cursor", "")

    @property
    def server(self):
        return self._get("server")

    def bind_server(self, server):
        """Tie the store to one server: cursors from one server mean nothing to another."""
        server = server.rstrip("/")
        known = self.server
        if known is None:
            self.db.execute("INSERT OR REPLACE INTO state VALUES ('server', ?)", (server,))
        elif known != server:
            raise StoreError("the local store %s holds the feed of %s, not %s: use another --store"
                             % (self.path, known, server))

    def apply_page(self, entries, next_cursor):
        """Write one feed page and its cursor in one transaction: active entries are stored,
        tombstones delete theirs. Returns how many entries it deleted."""
        try:
            seq = int(str(next_cursor).split(".")[0])
        except ValueError:
            raise StoreError("the server sent a cursor this store does not understand: %r" % (next_cursor,)) from None
        rows, tombstones = [], []
        for e in entries:
            try:
                if e["status"] == ACTIVE:
                    rows.append(tuple(e[f] for f in FIELDS[:-1]) + (int(bool(e.get("disputed"))), seq))
                else:
                    tombstones.append(int(e["id"]))
            except (KeyError, TypeError) as error:
                raise StoreError("a feed entry lacks a field: %r" % (error,)) from None
        self.db.execute("BEGIN IMMEDIATE")
        try:
            deleted = 0
            for entry_id in tombstones:
                row = self.db.execute("SELECT type FROM entries WHERE id = ?", (entry_id,)).fetchone()
                if row is not None:
                    self.db.execute("INSERT OR REPLACE INTO dropped VALUES (?, ?, ?)", (entry_id, row[0], seq))
                    self.db.execute("DELETE FROM entries WHERE id = ?", (entry_id,))
                    deleted += 1
            self.db.executemany(_UPSERT, rows)
            self.db.executemany("DELETE FROM dropped WHERE id = ?", [(row[0],) for row in rows])
            self.db.execute("INSERT OR REPLACE INTO state VALUES ('cursor', ?)", (str(next_cursor),))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return deleted

    def entries(self, status=None, type_=None):
        """Entries as dicts, by id."""
        sql, args, where = "SELECT %s FROM entries" % ", ".join(FIELDS), [], []
        if status:
            where.append("status = ?")
            args.append(status)
        if type_:
            where.append("type = ?")
            args.append(type_)
        if where:
            sql += " WHERE " + " AND ".join(where)
        for row in self.db.execute(sql + " ORDER BY id", args):
            yield entry_dict(row)

    def active_rows(self):
        """The active entries as compact rows (FIELDS tuples, by id), their repeated strings (type,
        media, status, time) shared: what takeback.spark broadcasts to every executor."""
        shared = {}
        rows = self.db.execute("SELECT %s FROM entries WHERE status = ? ORDER BY id" % ", ".join(FIELDS), (ACTIVE,))
        return [(key, shared.setdefault(type_, type_), value, quality, shared.setdefault(media, media),
                 shared.setdefault(status, status), shared.setdefault(updated, updated), disputed)
                for key, type_, value, quality, media, status, updated, disputed in rows]

    def entry(self, entry_id):
        row = self.db.execute("SELECT %s FROM entries WHERE id = ?" % ", ".join(FIELDS), (int(entry_id),)).fetchone()
        return None if row is None else entry_dict(row)

    def counts(self):
        """{(type, status): n}."""
        return {(t, s): n for t, s, n in self.db.execute("SELECT type, status, COUNT(*) FROM entries GROUP BY 1, 2")}

"""The local store: the platform's copy of the hash feed, in SQLite.

One row per feed entry (keyed by the feed id) in its latest state, withdrawn ones included
as tombstones, and the feed cursor. Each feed page is applied in one transaction together
with the cursor it ends at, so a sync stopped at any point (kill -9 included) resumes from
the last page it committed: nothing lost, nothing applied twice (applying a page again
would be harmless anyway: rows are replaced by id).
"""
import sqlite3

SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    id INTEGER PRIMARY KEY,          -- the feed entry id
    type TEXT NOT NULL,
    value TEXT NOT NULL,
    quality INTEGER,
    media TEXT NOT NULL,
    status TEXT NOT NULL,            -- active | withdrawn
    updated TEXT NOT NULL,
    not_violating INTEGER NOT NULL DEFAULT 0,
    seq INTEGER NOT NULL             -- the feed cursor of the page that brought this state
);
CREATE INDEX IF NOT EXISTS entries_value ON entries (type, value);
CREATE INDEX IF NOT EXISTS entries_seq ON entries (seq);          -- Matcher.refresh: changes since
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

FIELDS = ("id", "type", "value", "quality", "media", "status", "updated", "not_violating")
ACTIVE = "active"


_UPSERT = "INSERT INTO entries (%s, seq) VALUES (%s) ON CONFLICT (id) DO UPDATE SET %s" % (
    ", ".join(FIELDS), ", ".join("?" * (len(FIELDS) + 1)),
    ", ".join("%s = excluded.%s" % (f, f) for f in FIELDS[1:] + ("seq",)))


class StoreError(Exception):
    pass


class LocalStore:
    def __init__(self, path):
        self.path = str(path)
        self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA cache_size=-262144")  # up to 256 MB of page cache: the value index is random-access
        self.db.executescript(SCHEMA)

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
        """Write one feed page and its cursor in one transaction."""
        seq = int(next_cursor)
        rows = []
        for e in entries:
            try:
                rows.append(tuple(e[f] for f in FIELDS[:-1]) + (int(e.get("not_violating", 0)), seq))
            except (KeyError, TypeError) as error:
                raise StoreError("a feed entry lacks a field: %r" % (error,)) from None
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.executemany(_UPSERT, rows)
            self.db.execute("INSERT OR REPLACE INTO state VALUES ('cursor', ?)", (str(next_cursor),))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

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
            yield dict(zip(FIELDS, row))

    def entry(self, entry_id):
        row = self.db.execute("SELECT %s FROM entries WHERE id = ?" % ", ".join(FIELDS), (int(entry_id),)).fetchone()
        return None if row is None else dict(zip(FIELDS, row))

    def counts(self):
        """{(type, status): n}."""
        return {(t, s): n for t, s, n in self.db.execute("SELECT type, status, COUNT(*) FROM entries GROUP BY 1, 2")}

"""The server's side of matching: the feed in its database as a takeback.matching.FeedSource.

Each server process keeps one takeback.matching.FeedMatcher (made with the app, so a rule the
index cannot serve stops the app from starting), built at first use and brought up to date
by change sequence before every match; with TAKEBACK_INDEX_DIR set, a takeback.shared
SharedFeedMatcher, whose built index is one file every process maps. The engine and its rule are the platforms' too.
"""
from sqlalchemy.engine import make_url

from hashing import HashRecord
from takeback.matching import FeedMatcher, FeedSource
from takeback.shared import SharedFeedMatcher

from . import storage
from .models import ACTIVE

_SYNC_PAGE = 10_000


class DatabaseFeed(FeedSource):
    """The feed entries of the app's database (storage.py), read in the current app context.

    Feed sequences become visible in order (storage.writing), so "after seq" is every change
    a reader has not seen yet."""

    def changes(self, after, types):
        while True:
            entries = storage.feed_after(after, _SYNC_PAGE, type_=types)
            if not entries:
                return
            yield [(e.id, self.record(e), e.status == ACTIVE, e.seq) for e in entries]
            after = entries[-1].seq

    def entries(self, ids):
        return storage.active_entries(ids) if ids else {}

    def entries_by_value(self, type_, values):
        return {value: [(e.id, e)] for value, e in storage.active_entries_by_value(type_, values).items()}

    def record(self, entry):
        return HashRecord(entry.type, entry.value, entry.quality)


def feed_matcher(rules=None, index_dir="", database_url=""):
    """The matcher one server process keeps (app.extensions["takeback_feed_matcher"]): with an
    index directory (TAKEBACK_INDEX_DIR), one index file there shared by every process on the
    same database (takeback.shared), else an index of its own in memory."""
    if index_dir:
        feed = make_url(database_url).render_as_string(hide_password=True)  # which database, not its password
        return SharedFeedMatcher(DatabaseFeed(), index_dir, rules, feed=feed)
    return FeedMatcher(DatabaseFeed(), rules)


def match(matcher, queries, max_distance):
    """For each HashRecord query, [(FeedEntry, distance)] of the active entries it matches,
    nearest first, after bringing the matcher up to date with the feed."""
    matcher.sync()
    return [[(entry, distance) for _, entry, distance in found] for found in matcher.match(queries, max_distance)]

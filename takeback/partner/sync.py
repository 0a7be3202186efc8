"""Pulling the hash feed into the local store, page by page, resumable at any point."""
from .store import LocalStore


def sync(client, store, page_size=1000, max_pages=None, on_page=None):
    """Bring `store` up to date with the server's feed; returns {"pages", "entries", "active", "withdrawn",
    "dropped", "cursor"}: "withdrawn" counts the tombstones received, "dropped" the entries they deleted.

    Every page is committed with its cursor in one transaction (LocalStore.apply_page), so
    stopping at any moment and running sync again loses and repeats nothing. Stops at the
    first page that does not move the cursor (the feed's end for now) or after max_pages.
    """
    if not isinstance(store, LocalStore):
        store = LocalStore(store)
    store.bind_server(client.server)
    stats = {"pages": 0, "entries": 0, "active": 0, "withdrawn": 0, "dropped": 0}
    cursor = store.cursor
    while max_pages is None or stats["pages"] < max_pages:
        page = client.feed(cursor, page_size)
        entries = page["entries"]
        if not entries and page["next_cursor"] == cursor:
            break
        # A page may be empty and still move the cursor (past withdrawals this store never held).
        stats["dropped"] += store.apply_page(entries, page["next_cursor"])
        cursor = page["next_cursor"]
        stats["pages"] += 1
        stats["entries"] += len(entries)
        for e in entries:
            stats["active" if e["status"] == "active" else "withdrawn"] += 1
        if on_page:
            on_page(stats, cursor)
    stats["cursor"] = cursor
    return stats

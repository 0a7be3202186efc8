"""Reporting what the platform did with a match: the feedback API.

Each report names the entry's hash value: the server's receipt that the feed (or a match
answer) gave this platform the entry. Scan output carries it; otherwise it is read from the
local store (`with_values`).
"""
import json

OUTCOMES = ("pending_review", "removed", "not_violating")
BATCH = 1000  # the server's limit per request


class ReportError(ValueError):
    pass


def feedback_item(entry_id, outcome, value=None):
    try:
        entry_id = int(entry_id)
    except (TypeError, ValueError):
        raise ReportError("an entry id is a feed entry number, got %r" % (entry_id,)) from None
    if isinstance(entry_id, bool) or entry_id < 1:
        raise ReportError("an entry id is a positive feed entry number, got %r" % (entry_id,))
    if outcome not in OUTCOMES:
        raise ReportError("outcome must be one of %s, got %r" % (", ".join(OUTCOMES), outcome))
    if value is not None and not isinstance(value, str):
        raise ReportError("an entry's value is its hash as a hex string, got %r" % (value,))
    item = {"id": entry_id, "outcome": outcome}
    if value is not None:
        item["value"] = value
    return item


def with_values(items, store):
    """The items, each with its entry's hash value (the receipt), from the local store where
    the item does not carry it."""
    out = []
    for item in items:
        if "value" not in item:
            entry = store.entry(item["id"]) if store is not None else None
            if entry is None:
                raise ReportError("entry %d is not in the local store (withdrawn, or not synced yet): the server "
                                  "takes a report only with the entry's hash value; give it as \"value\" in a "
                                  "--batch line" % item["id"])
            item = dict(item, value=entry["value"])
        out.append(item)
    return out


def read_batch(lines, default_outcome=None):
    """Feedback items from JSON lines: {"id" (or "entry"): n, "outcome": ..., "value"?: ...}, or a
    line of `takeback partner scan` output ({"path", "matches": [...]}) with --outcome for all its
    matches (each carries its entry's value)."""
    items = []
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line:
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise ReportError("line %d: not JSON: %s" % (number, e)) from None
        if not isinstance(obj, dict):
            raise ReportError("line %d: expected a JSON object" % number)
        try:
            if "matches" in obj:
                outcome = obj.get("outcome", default_outcome)
                if outcome is None:
                    raise ReportError("a scan output line needs --outcome (or an \"outcome\" field)")
                items += [feedback_item(m["entry"], outcome, m.get("value")) for m in obj["matches"]]
            else:
                entry_id = obj.get("id", obj.get("entry"))
                items.append(feedback_item(entry_id, obj.get("outcome", default_outcome), obj.get("value")))
        except ReportError as e:
            raise ReportError("line %d: %s" % (number, e)) from None
        except (KeyError, TypeError):
            raise ReportError("line %d: a match without an \"entry\" id" % number) from None
    return items


def send(client, items):
    """Send feedback in batches of 1,000; how many the server recorded."""
    recorded = 0
    for start in range(0, len(items), BATCH):
        recorded += client.feedback(items[start : start + BATCH])
    return recorded

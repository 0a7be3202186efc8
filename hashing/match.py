"""The match rule: when does an enrolled hash record match a query hash record.

Used by the backend's match API and by platforms on their own machines, so both decide alike.
"""
from .records import HashRecord

# Meta's recommended PDQ threshold: at most 31 of 256 bits differ.
PDQ_MATCH_DISTANCE = 31


def can_match(record):
    """False for a record the rule never lets match anything: a weak perceptual hash.

    Indexes use this to leave such records out; record_distance applies it to both sides.
    """
    return not record.weak


def record_distance(enrolled, query, max_distance=PDQ_MATCH_DISTANCE):
    """Distance if `query` matches `enrolled`, else None.

    Exact digests match only when equal (distance 0). Perceptual hashes match within
    max_distance bits, and never when either side is weak: a featureless image's hash
    is too close to too many others to stand alone as evidence.
    """
    if not isinstance(enrolled, HashRecord) or not isinstance(query, HashRecord):
        raise TypeError("record_distance compares HashRecord values")
    if enrolled.type != query.type:
        return None
    if not enrolled.perceptual:
        return 0 if enrolled.value == query.value else None
    if not can_match(enrolled) or not can_match(query):
        return None
    distance = enrolled.hash_value() - query.hash_value()
    return distance if distance <= max_distance else None

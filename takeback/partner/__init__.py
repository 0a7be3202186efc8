"""The platform side of Takeback: sync the hash feed, scan media, match, report back.

Python API for upload pipelines (see docs/PARTNER.md):

    from takeback.partner import Matcher
    matcher = Matcher.from_store("takeback-partner.sqlite")
    result = matcher.match_file("upload.jpg")      # hashes locally; nothing is sent
    if result.matches: ...

The command line is `takeback partner sync | scan | report` (takeback/partner/cli.py).
Only hashes and feedback ever go to the server, never media.
"""
from .client import PartnerClient, PartnerError, token_from_environment
from takeback.media import query_record

from .matcher import FileResult, Match, Matcher
from .store import LocalStore, StoreError
from .sync import sync

__all__ = ["PartnerClient", "PartnerError", "token_from_environment", "FileResult", "Match", "Matcher",
           "query_record", "LocalStore", "StoreError", "sync"]

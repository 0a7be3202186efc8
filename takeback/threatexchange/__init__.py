"""Takeback as a threatexchange extension, for Meta's Hasher-Matcher-Actioner (HMA/OpenMediaMatch)
and the threatexchange CLI (`pip install 'takeback[threatexchange]'`; docs/PARTNER.md):

    threatexchange config extensions add takeback.threatexchange
    threatexchange config collab edit takeback NAME --create --server https://takeback.example

- the exchange "takeback" (exchange.py): the partner feed, its cursor as the checkpoint,
  feedback as report_opinion;
- the signal types takeback_window and takeback_blocks (signals.py): Takeback's robust hashes,
  matched by Takeback's own engine (takeback.matching) and rules (hashing.match.RULES).
  Plain PDQ and videos' digests go to threatexchange's PdqSignal, VideoMD5Signal, VideoSHA256Signal.

Imports threatexchange and Takeback's core and partner client, never the server.
"""
from threatexchange.extensions.manifest import ThreatExchangeExtensionManifest

from .exchange import (
    TakebackCheckpoint, TakebackCollabConfig, TakebackCredentials, TakebackSignalExchangeAPI, TakebackSignalMetadata,
)
from .signals import SIGNAL_TYPES, TakebackBlocksSignal, TakebackIndex, TakebackWindowSignal

TX_MANIFEST = ThreatExchangeExtensionManifest(signal_types=SIGNAL_TYPES, apis=(TakebackSignalExchangeAPI,))

__all__ = ["TX_MANIFEST", "TakebackSignalExchangeAPI", "TakebackCollabConfig", "TakebackCheckpoint",
           "TakebackSignalMetadata", "TakebackCredentials", "TakebackWindowSignal", "TakebackBlocksSignal",
           "TakebackIndex"]

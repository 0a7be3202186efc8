"""Takeback's partner feed as a threatexchange SignalExchangeAPI named "takeback".

The feed (GET /api/v1/partner/hashes) is read page by page with takeback.partner.PartnerClient
(retries on 429 and 5xx, honouring Retry-After). Updates are keyed by feed entry id; a
withdrawn entry (a tombstone) is a delete. The checkpoint is the feed cursor after the last
page handed over, so a fetch stopped at any point (HMA's or the CLI's, or a killed process)
resumes there. Opinions come from the feed's fields: an entry is a person's own report (an
investigation seed, as StopNCII's are), disputed when another platform reported it
not_violating. report_opinion sends feedback naming the entry by hash type and value.
"""
import typing as t
from dataclasses import dataclass, field

from threatexchange.exchanges import auth, signal_exchange_api
from threatexchange.exchanges import fetch_state as state
from threatexchange.exchanges.collab_config import CollaborationConfigWithDefaults
from threatexchange.signal_type.md5 import VideoMD5Signal
from threatexchange.signal_type.pdq.signal import PdqSignal
from threatexchange.signal_type.sha256 import VideoSHA256Signal
from threatexchange.signal_type.signal_base import SignalType

from hashing import HashRecord, RecordError, can_match
from takeback.partner.client import TOKEN_VARIABLE, PartnerClient, PartnerError, TokenRefused

from .signals import TakebackSignal, decode, encode, signal_type_for

API_NAME = "takeback"

# How a report's category becomes a feedback outcome (backend/models.OUTCOMES).
OUTCOMES = {
    state.SignalOpinionCategory.POSITIVE_CLASS: "removed",
    state.SignalOpinionCategory.NEGATIVE_CLASS: "not_violating",
    state.SignalOpinionCategory.INVESTIGATION_SEED: "pending_review",
}


@dataclass
class TakebackCollabConfig(CollaborationConfigWithDefaults):
    """A Takeback server's feed. Edited with `threatexchange config collab edit takeback NAME --server URL`."""

    server: str = field(default="", metadata={"help": "the Takeback server's URL, https://takeback.example"})
    page_size: int = field(default=1000, metadata={"help": "feed entries per request (1 to 10000)"})
    include_video_frames: bool = field(default=False, metadata={
        "help": "also match the PDQ and block hashes of videos' frames (a still taken from a video); "
                "a video's file digests are always included"})
    api: str = field(init=False, default=API_NAME)


@dataclass
class TakebackCheckpoint(state.FetchCheckpointBase):
    """The feed cursor after the last page fetched ("" before the first). It only ever moves to
    the cursor the server gave after a page whose entries were handed over with it."""

    cursor: str = ""


@dataclass
class TakebackSignalMetadata(state.FetchedSignalMetadata):
    """One feed entry as the feed gave it (also the fetched update itself: key = entry id)."""

    entry_id: int
    type: str
    value: str
    quality: t.Optional[int]
    media: str
    updated: str
    disputed: bool = False

    def get_as_opinions(self) -> t.Sequence[state.SignalOpinion]:
        # A person reported this as their own intimate image: a seed for review, as StopNCII's are.
        opinions = [state.SignalOpinion(False, state.SignalOpinionCategory.INVESTIGATION_SEED, set())]
        if self.disputed:  # another platform reported it not_violating
            opinions.append(state.SignalOpinion(False, state.SignalOpinionCategory.NEGATIVE_CLASS, set()))
        return opinions

    def record(self) -> HashRecord:
        return HashRecord(self.type, self.value, self.quality)

    @classmethod
    def from_entry(cls, entry: dict) -> "TakebackSignalMetadata":
        try:
            return cls(int(entry["id"]), entry["type"], entry["value"], entry.get("quality"), entry["media"],
                       entry["updated"], bool(entry.get("disputed", False)))
        except (KeyError, TypeError, ValueError) as e:
            raise PartnerError("the server's feed entry is not what the partner API describes: %s" % e) from None


@dataclass
class TakebackCredentials(auth.CredentialHelper):
    """The partner token an operator made with `takeback partners add NAME`: from TAKEBACK_TOKEN,
    else the file ~/.takeback_token (chmod 400)."""

    ENV_VARIABLE: t.ClassVar[str] = TOKEN_VARIABLE
    FILE_NAME: t.ClassVar[str] = "~/.takeback_token"

    token: str = field(metadata={"help": "the partner token"})

    @classmethod
    def _from_str(cls, s: str) -> "TakebackCredentials":
        return cls(s.strip())

    def _are_valid(self) -> bool:
        return bool(self.token) and not any(c.isspace() for c in self.token)


class TakebackSignalExchangeAPI(
    auth.SignalExchangeWithAuth[TakebackCollabConfig, TakebackCredentials],
    signal_exchange_api.SignalExchangeAPI[
        TakebackCollabConfig, TakebackCheckpoint, TakebackSignalMetadata, int, TakebackSignalMetadata,
    ],
):
    """The hash feed of a Takeback server, for the threatexchange CLI and HMA."""

    def __init__(self, collab: TakebackCollabConfig, client: PartnerClient) -> None:
        self.collab = collab
        self.client = client

    @classmethod
    def get_name(cls) -> str:
        return API_NAME

    @staticmethod
    def get_config_cls() -> t.Type[TakebackCollabConfig]:
        return TakebackCollabConfig

    @staticmethod
    def get_checkpoint_cls() -> t.Type[TakebackCheckpoint]:
        return TakebackCheckpoint

    @staticmethod
    def get_record_cls() -> t.Type[TakebackSignalMetadata]:
        return TakebackSignalMetadata

    @staticmethod
    def get_credential_cls() -> t.Type[TakebackCredentials]:
        return TakebackCredentials

    @classmethod
    def for_collab(cls, collab: TakebackCollabConfig,
                   credentials: t.Optional[TakebackCredentials] = None) -> "TakebackSignalExchangeAPI":
        credentials = credentials or TakebackCredentials.get(cls)
        try:
            return cls(collab, PartnerClient(collab.server, credentials.token))
        except PartnerError as e:  # a config without a usable server URL
            raise ValueError("collab %s: %s" % (collab.name, e)) from None

    def fetch_iter(
        self, supported_signal_types: t.Sequence[t.Type[SignalType]], checkpoint: t.Optional[TakebackCheckpoint],
    ) -> t.Iterator[state.FetchDelta[int, TakebackSignalMetadata, TakebackCheckpoint]]:
        """One delta per feed page, until a page neither brings entries nor moves the cursor.

        A page may be empty and still move the cursor (past withdrawals this reader never held):
        it is handed over too, so the checkpoint follows. A refused token raises threatexchange's
        SignalExchangeAPIInvalidAuthException at once."""
        cursor = checkpoint.cursor if checkpoint else ""
        while True:
            try:
                page = self.client.feed(cursor, self.collab.page_size)
            except TokenRefused as e:
                raise auth.SignalExchangeAPIInvalidAuthException(type(self), str(e)) from None
            entries, next_cursor = page["entries"], page["next_cursor"]
            if not entries and next_cursor == cursor:
                return
            updates: t.Dict[int, t.Optional[TakebackSignalMetadata]] = {}
            for item in entries:  # in change order: a later change of an entry wins
                active = item.get("status") == "active"
                updates[int(item["id"])] = TakebackSignalMetadata.from_entry(item) if active else None
            cursor = next_cursor
            yield state.FetchDelta(updates, TakebackCheckpoint(cursor))

    @classmethod
    def naive_convert_to_signal_type(
        cls, signal_types: t.Sequence[t.Type[SignalType]], collab: TakebackCollabConfig,
        fetched: t.Mapping[int, TakebackSignalMetadata],
    ) -> t.Dict[t.Type[SignalType], t.Dict[str, TakebackSignalMetadata]]:
        out: t.Dict[t.Type[SignalType], t.Dict[str, TakebackSignalMetadata]] = {}
        wanted = set(signal_types)
        for metadata in fetched.values():
            if metadata is None:
                continue
            converted = signal_of(metadata, collab.include_video_frames)
            if converted is not None and converted[0] in wanted:
                out.setdefault(converted[0], {})[converted[1]] = metadata
        return out

    def report_opinion(self, s_type: t.Type[SignalType], signal: str, opinion: state.SignalOpinion) -> None:
        """Feedback on the feed entry holding this hash: positive → removed, negative →
        not_violating, investigation → pending_review."""
        hash_type, value = hash_of(s_type, signal)
        try:
            self.client.feedback([{"type": hash_type, "value": value, "outcome": OUTCOMES[opinion.category]}])
        except TokenRefused as e:
            raise auth.SignalExchangeAPIInvalidAuthException(type(self), str(e)) from None


def signal_of(entry: TakebackSignalMetadata, include_video_frames: bool) -> t.Optional[t.Tuple[t.Type[SignalType], str]]:
    """(signal type, signal string) of a feed entry, or None for one no signal type takes: a weak
    perceptual hash, a photo's file digest (threatexchange has no photo digest type), a video
    frame's hash unless frames are included."""
    try:
        record = entry.record()
    except RecordError:
        return None  # a hash type newer than this extension
    if record.perceptual:
        if not can_match(record) or (entry.media == "video" and not include_video_frames):
            return None
        if record.type == "pdq":
            return PdqSignal, record.value
        signal_type = signal_type_for(record.type)
        return None if signal_type is None else (signal_type, encode([record]))
    digest_type = {"md5": VideoMD5Signal, "sha256": VideoSHA256Signal}.get(record.type)
    return (digest_type, record.value) if digest_type is not None and entry.media == "video" else None


def hash_of(s_type: t.Type[SignalType], signal: str) -> t.Tuple[str, str]:
    """The Takeback hash (type, value) of one signal of a type this exchange hands out."""
    if issubclass(s_type, TakebackSignal):
        records = decode(signal)
        if len(records) != 1:
            raise ValueError("report one Takeback hash at a time, not a file's %d query hashes" % len(records))
        return records[0].type, records[0].value
    names = {PdqSignal: "pdq", VideoMD5Signal: "md5", VideoSHA256Signal: "sha256"}
    if s_type not in names:
        raise ValueError("Takeback has no %s hashes" % s_type.get_name())
    return names[s_type], s_type.validate_signal_str(signal)

"""`takeback partner ...`: the platform's command line (sync, scan, report)."""
import json
import os
import sys

import click

from .client import TOKEN_VARIABLE, PartnerClient, PartnerError, token_from_environment
from .matcher import Matcher
from .report import ReportError, feedback_item, read_batch, send, with_values
from .scan import Progress, media_files, scan
from .store import LocalStore, StoreError
from .sync import sync

DEFAULT_STORE = "takeback-partner.sqlite"
STORE_VARIABLE = "TAKEBACK_PARTNER_STORE"

store_option = click.option(
    "--store", "store_path", type=click.Path(dir_okay=False), envvar=STORE_VARIABLE, default=DEFAULT_STORE,
    show_default=True, help="The local SQLite store (also %s)." % STORE_VARIABLE)


def _fail(message):
    click.echo("takeback partner: %s" % message, err=True)
    sys.exit(2)


def _client(server, store=None):
    if server is None and store is not None:
        server = store.server
    if server is None:
        _fail("give --server URL (or sync first: the store remembers its server)")
    try:
        return PartnerClient(server, token_from_environment())
    except PartnerError as e:
        _fail(str(e))


@click.group("partner", help="For participating platforms: sync the hash feed, scan media, report outcomes. "
             "The token is read from %s, never from a flag. Only hashes and feedback are sent, never media."
             % TOKEN_VARIABLE)
def partner():
    pass


@partner.command("sync")
@click.option("--server", required=True, help="The Takeback server, e.g. https://takeback.example")
@store_option
@click.option("--page-size", default=1000, show_default=True, type=click.IntRange(1, 10_000),
              help="Feed entries per request; each page is committed with its cursor.")
@click.option("--max-pages", type=click.IntRange(1), default=None, help="Stop after this many pages.")
@click.option("--quiet", is_flag=True, help="No summary on stderr.")
def sync_command(server, store_path, page_size, max_pages, quiet):
    """Pull the hash feed into the local store, from where the last sync stopped.

    Safe to stop at any moment (Ctrl-C, kill -9) and run again: every page is committed
    together with its cursor, so nothing is lost or applied twice. A withdrawn entry (a
    tombstone, sent without its hash) is deleted from the store and leaves the matcher's index.
    """
    try:
        with LocalStore(store_path) as store:
            client = _client(server)
            progress = sys.stderr.isatty() and not quiet

            def on_page(stats, cursor):
                if progress:
                    click.echo("\rsynced %d entries (%d pages), cursor %s " % (stats["entries"], stats["pages"], cursor),
                               err=True, nl=False)

            stats = sync(client, store, page_size, max_pages, on_page)
            if progress:
                click.echo("", err=True)
            counts = store.counts()
    except (PartnerError, StoreError) as e:
        _fail(str(e))
    except KeyboardInterrupt:
        click.echo("\ntakeback partner sync: stopped; every page so far is stored, run it again to resume", err=True)
        sys.exit(130)
    if not quiet:
        click.echo("takeback partner sync: %d changes in %d pages; %d withdrawn entries dropped; the store holds "
                   "%d active entries; cursor %s" % (stats["entries"], stats["pages"], stats["dropped"],
                                                    sum(counts.values()), stats["cursor"]), err=True)


@partner.command("scan")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@store_option
@click.option("--workers", "-j", default=1, show_default=True, type=click.IntRange(1),
              help="Processes hashing files in parallel.")
@click.option("--all", "print_all", is_flag=True, help="Print a line for every file, not only for matches.")
@click.option("--max-distance", default=31, show_default=True, type=click.IntRange(0, 31),
              help="Bits for a query PDQ (against enrolled PDQs and rotations/flips); windows keep their rule's.")
def scan_command(paths, store_path, workers, print_all, max_distance):
    """Hash photos and videos under PATHS locally and match them against the local store.

    Prints one JSON line per matching file on stdout:
    {"path", "media", "matches": [{"entry", "type", "query_type", "distance", ...}], "video"?}.
    A file that cannot be decoded is reported on stderr and skipped (exit code 1).
    Nothing is sent to the server.
    """
    if not os.path.exists(store_path):
        _fail("no local store at %s: run `takeback partner sync --server URL` first" % store_path)
    matcher = Matcher.from_store(store_path, max_distance)
    files = list(media_files(paths))
    progress = Progress(len(files))

    def on_result(result):
        if result.matches or print_all:
            if progress.enabled:
                sys.stderr.write("\r\033[K")
            click.echo(json.dumps(result.to_json()))

    def on_error(path, error):
        if progress.enabled:
            sys.stderr.write("\r\033[K")
        click.echo("takeback partner scan: %s: %s (skipped)" % (path, error), err=True)

    total, matched, failed = scan(matcher, files, workers, on_result, on_error, progress)
    if progress.enabled:
        click.echo("takeback partner scan: %d files, %d matched, %d could not be decoded" % (total, matched, failed),
                   err=True)
    if failed:
        sys.exit(1)


@partner.command("report")
@click.argument("entry_id", required=False)
@click.argument("outcome", required=False, type=click.Choice(["pending_review", "removed", "not_violating"]))
@click.option("--batch", type=click.File("r"),
              help="JSON lines ({\"id\", \"outcome\", \"value\"?}, or scan output with --outcome); - for stdin.")
@click.option("--outcome", "default_outcome", type=click.Choice(["pending_review", "removed", "not_violating"]),
              help="The outcome for --batch lines that carry none.")
@click.option("--server", help="The Takeback server (default: the one the store was synced from).")
@store_option
def report_command(entry_id, outcome, batch, default_outcome, server, store_path):
    """Tell the server what you did with a match: ENTRY_ID OUTCOME, or --batch FILE.

    OUTCOME is pending_review, removed or not_violating; your last report per entry counts.
    Each report carries the entry's hash value, the server's receipt that it gave you the
    entry: from scan output, a "value" in a --batch line, or the local store.
    """
    store = LocalStore(store_path) if os.path.exists(store_path) else None
    try:
        if batch is not None:
            if entry_id is not None:
                _fail("give either ENTRY_ID OUTCOME or --batch, not both")
            items = read_batch(batch, default_outcome)
        elif entry_id is None or outcome is None:
            _fail("give ENTRY_ID OUTCOME, or --batch FILE")
        else:
            items = [feedback_item(entry_id, outcome)]
        items = with_values(items, store)
    except ReportError as e:
        _fail(str(e))
    client = _client(server, store)
    try:
        recorded = send(client, items)
    except PartnerError as e:
        _fail(str(e))
    click.echo(json.dumps({"recorded": recorded}))

"""Operator commands: `takeback partners add NAME [--public] | list | publish NAME | unpublish NAME |
revoke NAME`, `takeback cases purge --since TIME` and `takeback db upgrade`.

They use the same configuration as the server (DATABASE_URL, else the SQLite file under instance/).
"""
from datetime import datetime, timezone

import click
from sqlalchemy.exc import OperationalError, ProgrammingError

from . import storage


def _app():
    from . import create_app

    return create_app()


def _run(work):
    app = _app()
    with app.app_context():
        try:
            return work()
        except (OperationalError, ProgrammingError):
            raise click.ClickException("the database is not set up: run `takeback db upgrade` first") from None


@click.group("partners", help="Platforms that read the hash feed: add, list, publish, unpublish, revoke.")
def partners():
    pass


@partners.command("add")
@click.argument("name")
@click.option("--public", is_flag=True, help="Name it in the app's list of participating platforms.")
def add(name, public):
    """Create a partner NAME and print its bearer token (shown only this once)."""
    name = name.strip()
    if not 1 <= len(name) <= 100 or not name.isprintable():
        raise click.ClickException("a partner name is 1 to 100 printable characters")

    def work():
        if storage.partner_by_name(name):
            raise click.ClickException("a partner named %r exists" % name)
        return storage.add_partner(name, public)

    token = _run(work)
    click.echo(token)
    click.echo("Give this token to %s over a safe channel; only its hash is stored." % name, err=True)


@partners.command("list")
def list_():
    """List partners: name, created, public or private, revoked (a date) or active."""
    for p in _run(storage.partners):
        click.echo("%s\t%s\t%s\t%s" % (p.name, p.created.isoformat(), "public" if p.public else "private",
                                       "revoked " + p.revoked.isoformat() if p.revoked else "active"))


def _set_public(name, public):
    def work():
        partner = storage.partner_by_name(name)
        if partner is None:
            raise click.ClickException("no partner named %r" % name)
        if public and partner.revoked:
            raise click.ClickException("%r is revoked; a revoked partner is never listed" % name)
        storage.set_partner_public(name, public)

    _run(work)


@partners.command("publish")
@click.argument("name")
def publish(name):
    """Name NAME in the app's public list of participating platforms."""
    _set_public(name, True)
    click.echo("%s is listed publicly" % name)


@partners.command("unpublish")
@click.argument("name")
def unpublish(name):
    """Take NAME off the public list (it keeps reading the feed)."""
    _set_public(name, False)
    click.echo("%s is no longer listed" % name)


@partners.command("revoke")
@click.argument("name")
def revoke(name):
    """Revoke NAME's token; it stops working at once."""
    if not _run(lambda: storage.revoke_partner(name)):
        raise click.ClickException("no active partner named %r" % name)
    click.echo("revoked %s" % name)


@click.group("db", help="The database schema.")
def database():
    pass


@database.command("upgrade")
def upgrade():
    """Create or migrate the database to the current schema."""
    import flask_migrate

    app = _app()
    with app.app_context():
        flask_migrate.upgrade()
    click.echo("database is up to date", err=True)


@click.group("cases", help="Cases: drop a flood that is still in quarantine.")
def cases():
    pass


@cases.command("purge")
@click.option("--since", required=True, help="A time, ISO 8601 (UTC unless it says otherwise): 2026-12-07T09:30:00Z.")
def purge(since):
    """Withdraw every case created at or after SINCE that is still in quarantine.

    Their feed entries never reach partners as active (an entry another case also holds
    stays). Cases out of quarantine are left alone: withdraw those one by one.
    """
    try:
        moment = datetime.fromisoformat(since.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter("not an ISO 8601 time: %r" % since, param_hint="--since") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)

    def work():
        from flask import current_app

        now = current_app.config["CLOCK"]()
        ids = storage.held_cases(moment.timestamp(), now)
        for case_id in ids:
            storage.purge_held(case_id)
        return len(ids)

    click.echo("withdrew %d cases in quarantine created since %s" % (_run(work), moment.isoformat()))

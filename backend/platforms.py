"""The public list of participating platforms, for the app's help screen. No login.

Only the names of platforms the operator published and has not revoked: no ids, no dates, and
nothing about the platforms not listed, not even how many there are.
"""
from flask import Blueprint

from . import storage

bp = Blueprint("platforms", __name__, url_prefix="/api/v1/platforms")


@bp.get("")
def platforms():
    body = {"platforms": [{"name": name} for name in storage.public_platforms()]}
    # The same for everyone and rarely changed: caches may keep it for a few minutes.
    return body, {"Cache-Control": "public, max-age=300"}

"""Serves the built frontend (frontend/dist)."""
import os

from flask import Blueprint, current_app, send_from_directory

bp = Blueprint("web", __name__)


@bp.get("/")
def index():
    dist = current_app.config["FRONTEND_DIST"]
    if os.path.exists(os.path.join(dist, "index.html")):
        return send_from_directory(dist, "index.html")
    return "Takeback: the frontend is not built yet.\n", 200, {"Content-Type": "text/plain; charset=utf-8"}

"""Takeback's server: a Flask app factory (see create_app)."""
import os

from flask import Flask


def create_app(test_config=None):
    app = Flask(__name__, instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_mapping(
        FRONTEND_DIST=os.path.join(os.path.dirname(os.path.dirname(__file__)), "frontend", "dist"),
    )
    if test_config:
        app.config.update(test_config)

    from . import web

    app.register_blueprint(web.bp)
    return app

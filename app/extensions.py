"""Flask extensions, created here and bound in create_app."""

from flask import Flask, current_app
from flask_wtf.csrf import CSRFProtect

from config import Settings

csrf = CSRFProtect()


def settings(app: Flask | None = None) -> Settings:
    """The Settings the current app was built with."""
    return (app or current_app).extensions["hindsight.settings"]

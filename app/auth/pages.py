"""Sign in and out of the web pages."""

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session as cookie, url_for

from app.auth.service import authenticate
from app.db import commit, get_session

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    # Only same-site paths: never redirect to another host after sign-in.
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("incident_pages.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the sign-in form and sign the user in."""
    error = None
    if request.method == "POST":
        email = request.form.get("email", "")
        password = request.form.get("password", "")
        session = get_session()
        user = authenticate(session, email=email, password=password)
        if user is None:
            error = "Unknown email or wrong password."
        else:
            commit(session)
            cookie.clear()
            cookie["user_id"] = user.id
            return redirect(_safe_next(request.args.get("next")))
    return render_template("pages/login.html", error=error), (401 if error else 200)


@bp.post("/logout")
def logout():
    """Sign out."""
    cookie.clear()
    flash("Signed out.")
    return redirect(url_for("auth.login"))

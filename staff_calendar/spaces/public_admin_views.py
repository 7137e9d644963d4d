"""The room admin's pages for citizens' requests (``/raeume/verwaltung``, role ``room_admin``):
pending requests with approve/decline and a reason, recent decisions, no-shows. Thin adapters over
``services.public_requests``; mails after the commit (``services.public_mails``)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from citizen_portal.core.access import roles_required
from citizen_portal.core.errors import DomainError, Invalid
from citizen_portal.core.i18n import _
from citizen_portal.core.schemas import parse_form
from staff_calendar.spaces.public_schemas import DecisionInput
from staff_calendar.spaces.services import public_mails, public_requests
from staff_calendar.spaces.services.common import Actor

bp = Blueprint("public_rooms_admin", __name__, url_prefix="/raeume/verwaltung")


def _page(status: int = 200, errors: dict | None = None, error: DomainError | None = None, failed: int | None = None):
    return render_template("staff_calendar/spaces/public/admin.html", pending=public_requests.pending_requests(),
                           recent=public_requests.recent_requests(), past_uses=public_requests.uses_for_no_show(),
                           no_shows=public_requests.no_show_count, errors=errors or {}, error=error,
                           failed=failed, form=request.form), status


@bp.get("/")
@roles_required("room_admin")
def pending():
    return _page()


@bp.post("/<int:request_id>/entscheiden")
@roles_required("room_admin")
def decide(request_id: int):
    actor = Actor.of(current_user)
    try:
        data = parse_form(DecisionInput, request.form, ignore=frozenset({"csrf_token", "decision"}))
        if request.form.get("decision") == "approve":
            found, manage = public_requests.approve(actor, request_id, data.reason or "")
            public_mails.approved(found, manage)
            flash(_("Die Anfrage ist zugesagt; die Termine sind im Raumkalender bestätigt."), "success")
        elif request.form.get("decision") == "decline":
            found = public_requests.decline(actor, request_id, data.reason or "")
            public_mails.declined(found)
            flash(_("Die Anfrage ist abgesagt; die Zeiten sind wieder frei."), "success")
        else:
            raise Invalid(fields={"decision": _("Bitte wählen Sie Zusage oder Absage.")})
    except Invalid as exc:
        return _page(400, errors=dict(exc.fields or {"reason": exc.message}), failed=request_id)
    except DomainError as exc:
        return _page(exc.status, error=exc)
    return redirect(url_for("public_rooms_admin.pending"), 303)


@bp.post("/termine/<int:use_id>/nicht-erschienen")
@roles_required("room_admin")
def no_show(use_id: int):
    try:
        public_requests.record_no_show(Actor.of(current_user), use_id, request.form.get("no_show") != "0")
    except DomainError as exc:
        return _page(exc.status, error=exc)
    flash(_("Gespeichert."), "success")
    return redirect(url_for("public_rooms_admin.pending"), 303)

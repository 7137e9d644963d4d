"""Administration of polls and suggestions under /verwaltung/beteiligung (role ``poll_admin``)."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from citizen_portal.core.access import roles_required
from citizen_portal.core.errors import Conflict, Invalid
from citizen_portal.core.i18n import _, _l, localized, to_local
from citizen_portal.core.navigation import register_landing, register_nav_item
from citizen_portal.core.schemas import parse_form

from . import schemas
from .models import SUGGESTION_STATUSES, Mode
from .services import ballot_batches, exports, participation, results, suggestions
from .services import polls as poll_service
from .services.common import format_code, now
from .services.suggestions import Notification
from .views import export_response

bp = Blueprint("polls_admin", __name__, url_prefix="/verwaltung/beteiligung")
bp.record_once(lambda state: register_nav_item(
    state.app, "polls_admin", _l("Beteiligung verwalten"), lambda: url_for("polls_admin.index"),
    roles=("poll_admin",), order=70))
bp.record_once(lambda state: register_landing(state.app, "poll_admin", lambda: url_for("polls_admin.index"), order=70))


@bp.before_request
@roles_required("poll_admin")
def _guard() -> None:
    """Every page here needs the poll_admin role (admin implies it)."""


def _actor_id() -> int | None:
    return int(current_user.id) if current_user.is_authenticated else None


def _poll_form_values(poll=None) -> dict:
    if poll is None:
        return {"mode": Mode.CODES.value, "results_visibility": "after_close", "published": "1",
                "min_ballots_live": "10"}
    return {
        "slug": poll.slug, "title_de": poll.title.get("de", ""), "title_en": poll.title.get("en", ""),
        "description_de": (poll.description or {}).get("de", ""),
        "description_en": (poll.description or {}).get("en", ""),
        "mode": poll.mode, "results_visibility": poll.results_visibility,
        "min_ballots_live": str(poll.min_ballots_live),
        "opens_at": to_local(poll.opens_at).strftime("%Y-%m-%dT%H:%M"),
        "closes_at": to_local(poll.closes_at).strftime("%Y-%m-%dT%H:%M"),
        "published": "1" if poll.published else "0",
    }


def _choices() -> dict:
    return {
        "modes": [(Mode.CODES.value, _("Einladungscodes (Brief)")), (Mode.EMAIL.value, _("Bestätigte E-Mail-Adresse")),
                  (Mode.ANYONE.value, _("Offen für alle (informell, mit Sicherheitsprüfung)"))],
        "visibilities": [("live", _("Sofort (laufendes Ergebnis)")), ("after_close", _("Nach dem Ende")),
                         ("admins", _("Nur für die Verwaltung"))],
        "kinds": [("single", _("Eine Antwort")), ("multiple", _("Mehrere Antworten")),
                  ("rating", _("Bewertung 1 bis 5")), ("text", _("Freitext"))],
    }


@bp.get("/")
def index() -> str:
    return render_template("polls/admin/index.html", polls=poll_service.all_polls(), now=now(),
                           ballot_counts=results.ballot_totals(),
                           pending=sum(1 for s in suggestions.moderation_queue() if s.moderation == "pending"))


@bp.route("/neu", methods=["GET", "POST"])
def poll_new():
    form, errors = _poll_form_values(), {}
    if request.method == "POST":
        form = schemas.form_values(request.form)
        try:
            poll = poll_service.create_poll(parse_form(schemas.PollInput, request.form), _actor_id())
        except Invalid as exc:
            errors = exc.fields
        else:
            flash(_("Die Umfrage wurde angelegt. Fügen Sie jetzt Fragen hinzu."), "success")
            return redirect(url_for("polls_admin.poll_detail", poll_id=poll.id), code=303)
    return render_template("polls/admin/poll_form.html", form=form, errors=errors, poll=None,
                           **_choices()), 400 if errors else 200


def _detail(poll_id: int, *, form=None, errors=None, question_form=None, question_errors=None,
            message=None, status: int = 200):
    poll = poll_service.get_poll(poll_id)
    return render_template(
        "polls/admin/poll.html", poll=poll, now=now(), form=form or _poll_form_values(poll), errors=errors or {},
        ballot_count=results.ballot_total(poll.id), pending_ballots=ballot_batches.pending_count(poll.id),
        question_form=question_form or {"kind": "single"}, question_errors=question_errors or {},
        batches=participation.batches(poll.id), pending_texts=len(results.text_answers(poll.id, "pending")),
        message=message, **_choices(),
    ), status


@bp.get("/<int:poll_id>")
def poll_detail(poll_id: int):
    return _detail(poll_id)


@bp.post("/<int:poll_id>")
def poll_update(poll_id: int):
    try:
        poll_service.update_poll(poll_id, parse_form(schemas.PollInput, request.form))
    except Invalid as exc:
        return _detail(poll_id, form=schemas.form_values(request.form), errors=exc.fields, status=400)
    except Conflict as exc:
        return _detail(poll_id, form=schemas.form_values(request.form), message=exc.message, status=409)
    flash(_("Gespeichert."), "success")
    return redirect(url_for("polls_admin.poll_detail", poll_id=poll_id), code=303)


@bp.post("/<int:poll_id>/fragen")
def question_add(poll_id: int):
    try:
        poll_service.add_question(poll_id, parse_form(schemas.QuestionInput, request.form))
    except Invalid as exc:
        return _detail(poll_id, question_form=request.form.to_dict(), question_errors=exc.fields, status=400)
    except Conflict as exc:
        return _detail(poll_id, message=exc.message, status=409)
    flash(_("Die Frage wurde hinzugefügt."), "success")
    return redirect(url_for("polls_admin.poll_detail", poll_id=poll_id) + "#questions", code=303)


@bp.post("/<int:poll_id>/fragen/<int:question_id>/loeschen")
def question_delete(poll_id: int, question_id: int):
    try:
        poll_service.delete_question(poll_id, question_id)
    except Conflict as exc:
        return _detail(poll_id, message=exc.message, status=409)
    flash(_("Die Frage wurde gelöscht."), "success")
    return redirect(url_for("polls_admin.poll_detail", poll_id=poll_id) + "#questions", code=303)


@bp.post("/<int:poll_id>/codes")
def codes_generate(poll_id: int):
    try:
        batch = participation.generate_codes(poll_id, parse_form(schemas.CodesInput, request.form).count)
    except Invalid as exc:
        return _detail(poll_id, question_errors={}, errors={}, message=exc.fields.get("count"), status=400)
    except Conflict as exc:
        return _detail(poll_id, message=exc.message, status=409)
    flash(_("%(count)s Codes wurden erzeugt. Laden Sie sie herunter und versiegeln Sie sie danach.", count=batch.size),
          "success")
    return redirect(url_for("polls_admin.poll_detail", poll_id=poll_id) + "#codes", code=303)


@bp.get("/<int:poll_id>/codes/<int:batch_id>.csv")
def codes_csv(poll_id: int, batch_id: int) -> Response:
    batch = participation.get_batch(poll_id, batch_id)
    body = exports.codes_csv(participation.batch_codes(batch))
    return Response(body, mimetype="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="codes-{poll_id}-{batch_id}.csv"', "Cache-Control": "no-store"})


@bp.get("/<int:poll_id>/codes/<int:batch_id>/druck")
def codes_sheet(poll_id: int, batch_id: int):
    poll = poll_service.get_poll(poll_id)
    batch = participation.get_batch(poll_id, batch_id)
    codes = [format_code(code) for code in participation.batch_codes(batch)]
    poll_url = current_app.config["BASE_URL"].rstrip("/") + url_for("polls.poll", slug=poll.slug)
    response = Response(render_template("polls/admin/codes_sheet.html", poll=poll, codes=codes, poll_url=poll_url))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/<int:poll_id>/codes/<int:batch_id>/versiegeln")
def codes_seal(poll_id: int, batch_id: int):
    participation.seal_batch(poll_id, batch_id)
    flash(_("Die Codes sind versiegelt und können nicht mehr angezeigt werden."), "success")
    return redirect(url_for("polls_admin.poll_detail", poll_id=poll_id) + "#codes", code=303)


@bp.post("/<int:poll_id>/archivieren")
def poll_archive(poll_id: int):
    try:
        poll_service.archive_poll(poll_id)
    except Conflict as exc:
        return _detail(poll_id, message=exc.message, status=409)
    flash(_("Die Umfrage ist archiviert; die E-Mail-Prüfwerte sind gelöscht."), "success")
    return redirect(url_for("polls_admin.poll_detail", poll_id=poll_id), code=303)


@bp.get("/<int:poll_id>/ergebnisse")
def poll_results(poll_id: int) -> str:
    poll = poll_service.get_poll(poll_id)
    ballot_batches.settle(poll)
    return render_template("polls/admin/results.html", poll=poll, results=results.poll_results(poll.id),
                           differences=results.recount(poll.id), poll_status=poll.status(now()))


@bp.get("/<int:poll_id>/ergebnisse.<any(csv, ods):fmt>")
def results_export(poll_id: int, fmt: str) -> Response:
    poll = poll_service.get_poll(poll_id)
    ballot_batches.settle(poll)
    return export_response(poll, results.poll_results(poll.id), fmt)


@bp.get("/<int:poll_id>/antworten")
def text_answers(poll_id: int) -> str:
    poll = poll_service.get_poll(poll_id)
    questions = {q.id: localized(q.text) for q in poll.questions}
    return render_template("polls/admin/answers.html", poll=poll, answers=results.text_answers(poll.id),
                           questions=questions)


@bp.post("/<int:poll_id>/antworten/<answer_id>")
def text_answer_moderate(poll_id: int, answer_id: str):
    data = parse_form(schemas.TextModerationInput, request.form)
    results.moderate_text_answer(poll_id, answer_id, data.decision)
    return redirect(url_for("polls_admin.text_answers", poll_id=poll_id), code=303)


# --- suggestions -----------------------------------------------------------------------------

@bp.get("/ideen")
def suggestion_queue() -> str:
    return render_template("polls/admin/suggestions.html", items=suggestions.moderation_queue(),
                           labels=suggestions.STATUS_LABELS)


def _suggestion_page(suggestion_id: int, errors=None, status: int = 200, message=None):
    item = suggestions.get_suggestion(suggestion_id)
    statuses = [(key, suggestions.STATUS_LABELS[key]) for key in SUGGESTION_STATUSES]
    return render_template("polls/admin/suggestion.html", item=item, errors=errors or {}, statuses=statuses,
                           form=request.form if request.method == "POST" else {}, message=message), status


@bp.get("/ideen/<int:suggestion_id>")
def suggestion_detail(suggestion_id: int):
    return _suggestion_page(suggestion_id)


def _suggestion_write(suggestion_id: int, write: Callable[[], Notification | None]):
    """Run a moderation write: form errors re-render the page (400), a conflict shows its message
    (409); on success the citizen's notification goes out after the commit, then 303 to the page."""
    try:
        notification = write()
    except Invalid as exc:
        return _suggestion_page(suggestion_id, exc.fields, 400)
    except Conflict as exc:
        return _suggestion_page(suggestion_id, status=409, message=exc.message)
    suggestions.deliver(notification)
    flash(_("Gespeichert."), "success")
    return redirect(url_for("polls_admin.suggestion_detail", suggestion_id=suggestion_id), code=303)


@bp.post("/ideen/<int:suggestion_id>/moderation")
def suggestion_moderate(suggestion_id: int):
    def write() -> Notification | None:
        data = parse_form(schemas.ModerationInput, request.form)
        return suggestions.moderate(suggestion_id, data.decision, data.reason, _actor_id())

    return _suggestion_write(suggestion_id, write)


@bp.post("/ideen/<int:suggestion_id>/status")
def suggestion_status(suggestion_id: int):
    def write() -> Notification | None:
        data = parse_form(schemas.StatusInput, request.form)
        return suggestions.set_status(suggestion_id, data.status, data.answer, _actor_id())

    return _suggestion_write(suggestion_id, write)

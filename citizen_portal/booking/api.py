"""JSON API of appointment booking (``/api/v1``): a thin adapter over ``booking.services``.

Bodies and query strings parse through ``booking.schemas`` (the same models as the HTML forms, so
the same field messages). Errors render as ``{"error": code, "message", "fields"}``
(``citizen_portal.core.errors``); a taken slot is 409 ``{"error": "slot_taken", "message",
"alternatives": [...]}``. Citizen endpoints on one appointment authenticate with
``Authorization: Bearer <manage token>``; no cookies are used for authentication here, so the
blueprint is exempt from CSRF.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, request

from citizen_portal.booking import schemas, services
from citizen_portal.booking.limits import booking_limit, slot_search_limit
from citizen_portal.booking.models import Appointment
from citizen_portal.core import captcha
from citizen_portal.core.errors import DomainError
from citizen_portal.core.extensions import csrf
from citizen_portal.core.i18n import _l, current_language, localized, site_timezone, supported_locales
from citizen_portal.core.schemas import parse_form, parse_json

bp = Blueprint("booking_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


def appointment_json(appointment: Appointment) -> dict[str, Any]:
    zone = site_timezone()
    return {
        "code": appointment.code,
        "status": appointment.status,
        "service": appointment.service.key,
        "location": appointment.location.key,
        "start": appointment.start_at.astimezone(zone).isoformat(),
        "end": appointment.end_at.astimezone(zone).isoformat(),
    }


def _bearer() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        error = DomainError(_l("Bitte senden Sie den Verwaltungsschlüssel als Bearer-Token."), code="unauthorized")
        error.status = 401
        raise error
    return token.strip()


@bp.get("/services")
def list_services():
    return jsonify({"services": [
        {
            "key": service.key,
            "name": localized(service.name),
            "duration_minutes": service.duration_minutes,
            "locations": [location.key for location in service.locations if location.active],
        }
        for service in services.list_services()
    ]})


@bp.get("/services/<key>/slots")
@slot_search_limit
def service_slots(key: str):
    query = parse_form(schemas.SlotQuery, request.args)
    # the cached, already serialised body (see services/cache.py: validated on every request)
    body = services.slots_json(key, query.first, query.last, location_key=query.location)
    return current_app.response_class(body + "\n", mimetype="application/json")


@bp.get("/captcha/challenge")
def captcha_challenge():
    if not captcha.enabled():
        return jsonify({"enabled": False}), 404
    response = jsonify(captcha.new_challenge(cost=services.proof_of_work_cost()))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/appointments")
@booking_limit
def create_appointment():
    values = parse_json(schemas.NewAppointment, request.get_json(silent=True))
    captcha.verify(values.altcha)
    language = values.language if values.language in supported_locales() else current_language()
    result = services.book(services.BookingRequest(values.service, values.location, values.start, values,
                                                   language=language,
                                                   client=services.Client(address=request.remote_addr)))
    body = appointment_json(result.appointment)
    body["manage_token"] = result.manage_token
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response, 201


@bp.get("/appointments/<code>")
def show_appointment(code: str):
    return jsonify(appointment_json(services.get_by_token(code, _bearer())))


@bp.patch("/appointments/<code>")
@booking_limit
def move_appointment(code: str):
    token = _bearer()
    values = parse_json(schemas.ChosenTime, request.get_json(silent=True))
    return jsonify(appointment_json(services.move(code, token, values.start)))


@bp.delete("/appointments/<code>")
@booking_limit
def cancel_appointment(code: str):
    token = _bearer()
    body = request.get_json(silent=True)
    parse_json(schemas.NoBody, {} if body is None else body)
    return jsonify(appointment_json(services.cancel(code, token)))

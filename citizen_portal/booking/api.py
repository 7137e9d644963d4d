"""JSON API of appointment booking (``/api/v1``): a thin adapter over ``booking.services``.

Errors render as ``{"error": code, "message", "fields"}`` (``citizen_portal.core.errors``); a taken slot
is 409 ``{"error": "slot_taken", "message", "alternatives": [...]}``. Citizen endpoints on one
appointment authenticate with ``Authorization: Bearer <manage token>``; no cookies are used for
authentication here, so the blueprint is exempt from CSRF.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, request

from citizen_portal.booking import schemas, services
from citizen_portal.booking.limits import booking_limit, slot_search_limit
from citizen_portal.booking.models import Appointment
from citizen_portal.booking.services import slots_json
from citizen_portal.core import captcha
from citizen_portal.core.errors import DomainError, Invalid
from citizen_portal.core.extensions import csrf
from citizen_portal.core.i18n import _l, current_language, localized, site_timezone, supported_locales

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


def _json_body() -> Any:
    body = request.get_json(silent=True)
    if body is None:
        raise Invalid(_l("Bitte senden Sie ein JSON-Objekt."))
    return body


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
    unknown = set(request.args) - {"from", "to", "location"}
    if unknown:
        raise Invalid(_l("Unbekannte Parameter."), fields={name[:50]: _l("Unbekannter Parameter.") for name in unknown})
    first = schemas.parse_day(request.args.get("from"), "from")
    last = schemas.parse_day(request.args.get("to"), "to")
    location = request.args.get("location") or None
    # the cached, already serialised body (see services/cache.py: validated on every request)
    body = slots_json(key, first, last, location_key=location)
    return current_app.response_class(body + "\n", mimetype="application/json")


@bp.get("/captcha/challenge")
def captcha_challenge():
    if not captcha.enabled():
        return jsonify({"enabled": False}), 404
    response = jsonify(captcha.new_challenge())
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/appointments")
@booking_limit
def create_appointment():
    values = schemas.booking_body(_json_body())
    captcha.verify(values["altcha"])
    language = values["language"] if values["language"] in supported_locales() else current_language()
    result = services.book(services.BookingRequest(
        service_key=values["service"], location_key=values["location"], start=values["start"],
        name=values["name"], email=values["email"], phone=values["phone"], note=values["note"],
        privacy_consent=values["privacy_consent"], language=language,
    ))
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
    body = schemas.json_object(_json_body(), {"start"})
    if "start" not in body:
        raise Invalid(fields={"start": _l("Dieses Feld ist erforderlich.")})
    appointment = services.move(code, token, schemas.parse_moment(body["start"]))
    return jsonify(appointment_json(appointment))


@bp.delete("/appointments/<code>")
@booking_limit
def cancel_appointment(code: str):
    return jsonify(appointment_json(services.cancel(code, _bearer())))

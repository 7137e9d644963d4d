"""JSON API of appointment booking (``/api/v1``): a thin adapter over ``booking.services``.

Every view declares itself with ``citizen_portal.core.api.operation`` (the OpenAPI document is
generated from that); bodies and query strings parse through ``booking.schemas`` (the same models
as the HTML forms, so the same field messages), answers are the ``api_schemas`` models. Errors are
problem details (``citizen_portal.core.errors``); a taken slot is 409 ``slot_taken`` with
``alternatives``. Citizen endpoints on one appointment authenticate with
``Authorization: Bearer <manage token>``; no cookies are used for authentication here, so the
blueprint is exempt from CSRF.
"""

from __future__ import annotations

from flask import Blueprint, request
from sqlalchemy import select

from citizen_portal.booking import schemas, services
from citizen_portal.booking.api_schemas import (
    AppointmentOut,
    BookedAppointmentOut,
    CaptchaChallengeOut,
    CaptchaOffProblem,
    ServiceListOut,
    ServiceOut,
    SlotListOut,
    SlotTakenProblem,
)
from citizen_portal.booking.limits import booking_limit, slot_search_limit
from citizen_portal.booking.models import Location
from citizen_portal.core import captcha
from citizen_portal.core.access import bearer_token, client_location_restricted, client_sees_location
from citizen_portal.core.api import MANAGE_TOKEN, Problem, operation, raw_json_response
from citizen_portal.core.api_clients import principal_for_token
from citizen_portal.core.errors import Invalid, NotFound
from citizen_portal.core.extensions import csrf, db
from citizen_portal.core.i18n import _l, current_language, localized, supported_locales

bp = Blueprint("booking_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)
TAGS = ("appointments",)


def _bearer() -> str:
    return bearer_token() or ""  # present: ``authorize`` checks it for MANAGE_TOKEN operations


def _visible_location(key: str | None) -> None:
    """An API client restricted to locations sees no other location (404, as an unknown one)."""
    if key is not None and not client_sees_location(db.session.scalar(select(Location.id).where(Location.key == key))):
        raise NotFound()


@operation(bp, "GET", "/services", summary=_l("Leistungen auflisten"), scope="appointments.read",
           description=_l("Die aktiven Leistungen mit Dauer und den Standorten, die sie anbieten."),
           responses={200: ServiceListOut}, tags=TAGS, paginated="services")
def list_services() -> ServiceListOut:
    return ServiceListOut(services=[
        ServiceOut(key=service.key, name=localized(service.name), duration_minutes=service.duration_minutes,
                   locations=[location.key for location in service.locations
                              if location.active and client_sees_location(location.id)])
        for service in services.list_services()])


@operation(bp, "GET", "/services/<key>/slots", summary=_l("Freie Zeiten suchen"), scope="appointments.read",
           description=_l("Freie Zeiten einer Leistung zwischen zwei Tagen (höchstens 62 Tage), "
                          "optional an einem Standort."),
           query=schemas.SlotQuery, responses={200: SlotListOut, 404: Problem}, tags=TAGS,
           limits=(slot_search_limit,), paginated="slots")
def service_slots(key: str, query: schemas.SlotQuery):
    if client_location_restricted() and query.location is None:
        raise Invalid(fields={"location": _l("Dieser API-Client muss einen seiner Standorte angeben.")})
    _visible_location(query.location)
    # the cached, already serialised body (see services/cache.py: validated on every request)
    return raw_json_response(services.slots_json(key, query.first, query.last, location_key=query.location))


@operation(bp, "GET", "/captcha/challenge", summary=_l("Captcha-Aufgabe abrufen"), scope="appointments.write",
           description=_l("Eine neue ALTCHA-Aufgabe für Buchungen, Stimmabgaben und Vorschläge ohne Anmeldung; "
                          "404, wenn das Captcha ausgeschaltet ist."),
           responses={200: CaptchaChallengeOut, 404: CaptchaOffProblem}, tags=("captcha",))
def captcha_challenge():
    if not captcha.enabled():
        raise NotFound(_l("Das Captcha ist ausgeschaltet."), code="captcha_disabled", extra={"enabled": False})
    challenge = captcha.new_challenge(cost=services.proof_of_work_cost())
    return CaptchaChallengeOut.model_validate(challenge), 200, {"Cache-Control": "no-store"}


@operation(bp, "POST", "/appointments", summary=_l("Termin buchen"), scope="appointments.write",
           description=_l("Bucht eine freie Zeit aus der Suche. Die Antwort enthält einmalig den "
                          "Verwaltungsschlüssel (manage_token) für Anzeigen, Verschieben und Absagen. "
                          "Ohne Token mit dem Scope appointments.write ist die Captcha-Lösung (altcha) nötig."),
           body=schemas.NewAppointment, responses={201: BookedAppointmentOut, 404: Problem, 409: SlotTakenProblem},
           tags=TAGS, limits=(booking_limit,))
def create_appointment(body: schemas.NewAppointment):
    _visible_location(body.location)
    token = bearer_token()
    caller = principal_for_token(token) if token else None  # a public operation: other tokens are ignored
    if caller is None or not caller.has("appointments.write"):
        # the captcha proves an anonymous caller; an authenticated API client (or staff token) holding
        # appointments.write is known software, limited by its scope, its restrictions and the rate limit
        captcha.verify(body.altcha)
    language = body.language if body.language in supported_locales() else current_language()
    result = services.book(services.BookingRequest(body.service, body.location, body.start, body, language=language,
                                                   client=services.Client(address=request.remote_addr)))
    answer = BookedAppointmentOut.of(result.appointment, manage_token=result.manage_token)
    return answer, 201, {"Cache-Control": "no-store"}


@operation(bp, "GET", "/appointments/<code>", summary=_l("Termin anzeigen"), scope="appointments.read",
           responses={200: AppointmentOut, 404: Problem}, tags=TAGS, access=MANAGE_TOKEN)
def show_appointment(code: str) -> AppointmentOut:
    return AppointmentOut.of(services.get_by_token(code, _bearer()))


@operation(bp, "PATCH", "/appointments/<code>", summary=_l("Termin verschieben"), scope="appointments.write",
           description=_l("Verschiebt den Termin auf eine andere freie Zeit derselben Leistung."),
           body=schemas.ChosenTime, responses={200: AppointmentOut, 404: Problem, 409: SlotTakenProblem},
           tags=TAGS, access=MANAGE_TOKEN, limits=(booking_limit,))
def move_appointment(code: str, body: schemas.ChosenTime) -> AppointmentOut:
    return AppointmentOut.of(services.move(code, _bearer(), body.start))


@operation(bp, "DELETE", "/appointments/<code>", summary=_l("Termin absagen"), scope="appointments.write",
           description=_l("Sagt den Termin ab; die Antwort zeigt ihn mit dem Status cancelled."),
           body=schemas.NoBody, responses={200: AppointmentOut, 404: Problem, 409: Problem},
           tags=TAGS, access=MANAGE_TOKEN, limits=(booking_limit,))
def cancel_appointment(code: str, body: schemas.NoBody) -> AppointmentOut:
    return AppointmentOut.of(services.cancel(code, _bearer()))

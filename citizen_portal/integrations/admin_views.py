"""Admin page "API-Clients" (``/verwaltung/api-clients``, role ``admin``): create, rotate and revoke API
clients (the secret is shown once, on the answer to the POST, never stored or put in a session), and
manage each client's webhooks with their delivery log and manual redelivery. No JavaScript, CSRF on
every form, German and English. Thin over ``core.api_clients`` and ``core.webhooks``; views never commit."""

from __future__ import annotations

import re

from flask import Blueprint, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from citizen_portal.booking.models import Location
from citizen_portal.core import api_clients, webhooks
from citizen_portal.core.access import roles_required
from citizen_portal.core.errors import Invalid
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import _, _l
from citizen_portal.core.navigation import register_nav_item
from citizen_portal.core.schemas import parse_form
from citizen_portal.core.scopes import SCOPES
from citizen_portal.integrations import schemas

bp = Blueprint("api_clients_admin", __name__, url_prefix="/verwaltung/api-clients")
bp.record_once(lambda state: register_nav_item(state.app, "api-clients", _l("API-Clients"), "/verwaltung/api-clients/",
                                               order=90, roles=("admin",)))

TEMPLATES = "citizen_portal/integrations"


@bp.before_request
@roles_required("admin")
def _admins_only() -> None:
    return None


def _locations() -> list[Location]:
    return list(db.session.scalars(select(Location).order_by(Location.key)))


def _index(status: int = 200, errors: dict | None = None, values: dict | None = None):
    return render_template(f"{TEMPLATES}/index.html", clients=api_clients.list_clients(), scopes=SCOPES,
                           locations=_locations(), errors=errors or {}, values=values or {}), status


@bp.get("/")
def index():
    return _index()


@bp.post("/")
def create():
    values = {"name": request.form.get("name", ""), "scopes": request.form.getlist("scopes"),
              "locations": request.form.getlist("locations"), "staff": request.form.get("staff", "")}
    try:
        form = parse_form(schemas.NewClient, request.form)
        staff = [name for name in re.split(r"[\s,;]+", form.staff) if name]
        result = api_clients.create_client(form.name, form.scopes, location_ids=form.locations or None,
                                           staff_usernames=staff or None)
    except Invalid as error:
        return _index(400, {key: str(value) for key, value in error.fields.items()} or {"name": str(error.message)},
                      values)
    return _secret(result, created=True)


def _secret(result: api_clients.ClientSecret, *, created: bool):
    response = render_template(f"{TEMPLATES}/secret.html", client=result.client, client_id=result.client_id,
                               client_secret=result.client_secret, created=created)
    return response, 200, {"Cache-Control": "no-store"}


@bp.post("/<int:client_id>/rotieren")
def rotate(client_id: int):
    return _secret(api_clients.rotate_secret(client_id), created=False)


@bp.post("/<int:client_id>/widerrufen")
def revoke(client_id: int):
    client = api_clients.revoke_client(client_id)
    flash(_("Der Client „%(name)s“ ist widerrufen.", name=client.name), "success")
    return redirect(url_for(".index"))


def _client_page(client_id: int, status: int = 200, errors: dict | None = None, values: dict | None = None):
    client = api_clients.get_client(client_id)
    subscriptions = webhooks.subscriptions_of(client.id)
    logs = {}
    for subscription in subscriptions:
        deliveries = webhooks.deliveries_of(subscription.id, limit=20)
        attempts = webhooks.attempts_of(d.id for d in deliveries)
        logs[subscription.id] = [(d, webhooks.event_of(d), attempts[d.id]) for d in deliveries]
    return render_template(f"{TEMPLATES}/client.html", client=client, subscriptions=subscriptions, logs=logs,
                           event_types=webhooks.event_types(), errors=errors or {}, values=values or {}), status


@bp.get("/<int:client_id>")
def client(client_id: int):
    return _client_page(client_id)


@bp.post("/<int:client_id>/webhooks")
def create_webhook(client_id: int):
    values = {"url": request.form.get("url", ""), "event_types": request.form.getlist("event_types"),
              "description": request.form.get("description", "")}
    try:
        form = parse_form(schemas.NewWebhook, request.form)
        created = webhooks.create_subscription(client_id, form.url, form.event_types, form.description)
    except Invalid as error:
        return _client_page(client_id, 400, {key: str(value) for key, value in error.fields.items()}, values)
    response = render_template(f"{TEMPLATES}/webhook_secret.html", client=api_clients.get_client(client_id),
                               subscription=created.subscription, secret=created.secret)
    return response, 200, {"Cache-Control": "no-store"}


@bp.post("/<int:client_id>/webhooks/<int:subscription_id>/loeschen")
def delete_webhook(client_id: int, subscription_id: int):
    webhooks.delete_subscription(client_id, subscription_id)
    flash(_("Der Webhook ist gelöscht."), "success")
    return redirect(url_for(".client", client_id=client_id))


@bp.post("/<int:client_id>/webhooks/<int:subscription_id>/zustellungen/<int:delivery_id>/erneut")
def redeliver(client_id: int, subscription_id: int, delivery_id: int):
    webhooks.redeliver(client_id, subscription_id, delivery_id)
    flash(_("Die Zustellung wird erneut gesendet."), "success")
    return redirect(url_for(".client", client_id=client_id))

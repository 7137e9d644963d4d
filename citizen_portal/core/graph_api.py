"""``/graph/v1.0/users``: the staff members and rooms the packages offer as Graph users
(``citizen_portal.core.graph.register_mailboxes``); ``{id}`` is the id or the e-mail address.
``/graph/v1.0/subscriptions``: change notifications (thin adapter over ``core.graph.subscriptions``);
``/graph/v1.0/openapi.json``: the OpenAPI document of every Graph route (``core.graph.openapi``)."""

from __future__ import annotations

from flask import current_app, jsonify

from citizen_portal.core import graph
from citizen_portal.core.graph import subscriptions
from citizen_portal.core.graph.openapi import build_document
from citizen_portal.core.graph.schemas import SubscriptionInput
from citizen_portal.core.schemas import parse

bp = graph.graph_blueprint("graph_users", __name__)


@bp.get("/users")
def list_users():
    graph.authorize_graph(graph.USERS_PERMISSION)
    graph.reject_unsupported_options()
    return graph.collection([box.to_json() for box in graph.mailboxes()], context="users",
                            default_top=100, fields=graph.select_fields())


@bp.get("/users/<ident>")
def get_user(ident: str):
    graph.authorize_graph(graph.USERS_PERMISSION)
    box = graph.find_mailbox(ident)
    body = {"@odata.context": f"{graph.PREFIX}/$metadata#users/$entity", **box.to_json()}
    return jsonify(graph.selected(body, graph.select_fields()))


@bp.get("/me")
def me():
    caller = graph.authorize_graph(graph.USERS_PERMISSION)
    return jsonify(graph.own_mailbox(caller).to_json())


# --------------------------------------------------------------------------- change notifications


@bp.post("/subscriptions")
def create_subscription():
    """Subscribe to a registered resource (``core.graph.subscriptions``): 201 with the subscription and,
    once, its Standard Webhooks key (``municipal.webhookSecret``)."""
    caller = graph.authorize_graph(None)
    data = parse(SubscriptionInput, graph.json_body())
    made = subscriptions.create_subscription(caller, data)
    return graph.created({"@odata.context": f"{graph.PREFIX}/$metadata#subscriptions/$entity",
                          **subscriptions.subscription_json(made, secret=True)})


@bp.get("/subscriptions")
def list_subscriptions():
    caller = graph.authorize_graph(None)
    graph.reject_unsupported_options()
    return graph.collection([subscriptions.subscription_json(s) for s in subscriptions.subscriptions_of(caller)],
                            context="subscriptions", default_top=100, fields=graph.select_fields())


@bp.get("/subscriptions/<subscription_id>")
def get_subscription(subscription_id: str):
    caller = graph.authorize_graph(None)
    body = {"@odata.context": f"{graph.PREFIX}/$metadata#subscriptions/$entity",
            **subscriptions.subscription_json(subscriptions.get_subscription(caller, subscription_id))}
    return jsonify(graph.selected(body, graph.select_fields()))


@bp.patch("/subscriptions/<subscription_id>")
def update_subscription(subscription_id: str):
    caller = graph.authorize_graph(None)
    data = parse(SubscriptionInput, graph.json_body())
    return jsonify(subscriptions.subscription_json(subscriptions.update_subscription(caller, subscription_id, data)))


@bp.post("/subscriptions/<subscription_id>/reauthorize")
def reauthorize_subscription(subscription_id: str):
    subscriptions.reauthorize_subscription(graph.authorize_graph(None), subscription_id)
    return graph.no_content()


@bp.delete("/subscriptions/<subscription_id>")
def delete_subscription(subscription_id: str):
    subscriptions.delete_subscription(graph.authorize_graph(None), subscription_id)
    return graph.no_content()


@bp.get("/openapi.json", endpoint="graph_openapi")
def openapi_document():
    """The OpenAPI 3.1 document of ``/graph/v1.0`` (public, like ``/api/v1/openapi.json``)."""
    return jsonify(build_document(current_app))

"""``/graph/v1.0/users``: the staff members and rooms the packages offer as Graph users
(``citizen_portal.core.graph.register_mailboxes``); ``{id}`` is the id or the e-mail address."""

from __future__ import annotations

from flask import jsonify

from citizen_portal.core import graph

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

"""Graph conventions on /graph/v1.0: error envelope, 401/403/404, Content-Type, double slashes,
Prefer time zones, users, $select, $top and absolute nextLinks."""

from __future__ import annotations

from citizen_portal.core import graph
from tests.factories import make_staff
from tests.graph.helpers import future_day, headers, staff_with_token, unreachable_calendar


def test_without_token_401_in_graph_envelope(app, client):
    response = client.get("/graph/v1.0/users")
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/json"
    error = response.get_json()["error"]
    assert error["code"] == "InvalidAuthenticationToken"
    assert error["message"]
    assert set(error["innerError"]) >= {"date", "request-id", "client-request-id"}
    assert "claims=" not in response.headers.get("WWW-Authenticate", "")


def test_bad_token_and_unknown_route(app, client):
    assert client.get("/graph/v1.0/users", headers=headers("cpt_nope")).status_code == 401
    *_, token = staff_with_token()
    response = client.get("/graph/v1.0/nothing/here", headers=headers(token))
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "ErrorItemNotFound"


def test_users_by_id_and_mail_with_select_paging_and_double_slash(app, client):
    location, service, staff, _user, token = staff_with_token()
    for n in range(3):
        make_staff(f"kollege{n}", locations=[location], services=[service])
    response = client.get("/graph/v1.0//users?$top=2&$select=displayName,mail",
                          headers=headers(token, **{"client-request-id": "abc"}),
                          base_url="http://portal.example")
    assert response.status_code == 200
    body = response.get_json()
    assert response.headers["client-request-id"] == "abc"
    assert len(body["value"]) == 2
    assert set(body["value"][0]) == {"id", "displayName", "mail"}
    assert body["@odata.nextLink"].startswith("http://portal.example/graph/v1.0/users?")
    next_page = client.get(body["@odata.nextLink"].replace("http://portal.example", ""), headers=headers(token))
    assert len(next_page.get_json()["value"]) == 2
    assert "@odata.nextLink" not in next_page.get_json()
    by_mail = client.get(f"/graph/v1.0/users/{staff.email.upper()}", headers=headers(token)).get_json()
    assert by_mail["id"] == f"staff-{staff.key}"
    assert client.get(f"/graph/v1.0/users/{by_mail['id']}", headers=headers(token)).get_json()["mail"] == staff.email
    assert client.get("/graph/v1.0/me", headers=headers(token)).get_json()["id"] == f"staff-{staff.key}"
    missing = client.get("/graph/v1.0/users/nobody%40example.org", headers=headers(token))
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "ErrorItemNotFound"


def test_unsupported_filter_and_bad_top_are_400(app, client):
    *_, token = staff_with_token()
    response = client.get("/graph/v1.0/users?$filter=mail%20eq%20'x'", headers=headers(token))
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "ErrorInvalidRequest"
    response = client.get("/graph/v1.0/users?$top=abc", headers=headers(token))
    assert response.status_code == 400
    assert "$top" in response.get_json()["error"]["innerError"]["fields"]


def test_prefer_timezone_windows_and_iana_names(app):
    from datetime import UTC, datetime

    moment = datetime(2026, 7, 1, 7, 30, tzinfo=UTC)
    for header, name, expected in [('outlook.timezone="W. Europe Standard Time"', "W. Europe Standard Time",
                                    "2026-07-01T09:30:00.0000000"),
                                   ('odata.maxpagesize=5, outlook.timezone="Europe/London"', "Europe/London",
                                    "2026-07-01T08:30:00.0000000"),
                                   ("", "UTC", "2026-07-01T07:30:00.0000000")]:
        with app.test_request_context("/graph/v1.0/users", headers={"Prefer": header} if header else {}):
            zone_name, zone = graph.preferred_timezone()
            assert zone_name == name
            assert graph.format_moment(moment, zone_name, zone) == {"dateTime": expected, "timeZone": name}
    with app.test_request_context("/graph/v1.0/x"):
        assert graph.parse_moment({"dateTime": "2026-07-01T09:30:00.0000000", "timeZone": "W. Europe Standard Time"},
                                  "start") == moment
        assert graph.parse_moment("2026-07-01T07:30:00", "start") == moment


def test_ids_have_no_slash():
    for text in ["graph-abc@x.example", "???>>>", "uid\n2026-01-01T00:00:00+00:00"]:
        ident = graph.encode_id(text)
        assert "/" not in ident and "+" not in ident and "=" not in ident
        assert graph.decode_id(ident) == text


def test_double_slash_on_writes_iana_preference_echoed_and_json_errors_everywhere(app, client):
    """A POST with ``//`` (the SDK's trailing-slash base URL) is served, not redirected; an IANA zone in
    ``Prefer`` is honoured and echoed; a 405 and a 404 are Graph's JSON envelope too."""
    _location, _service, staff, _user, token = staff_with_token()
    unreachable_calendar(staff)
    day = future_day(5).date()
    response = client.post(f"/graph/v1.0//users//{staff.email}/events", headers=headers(
        token, Prefer='outlook.timezone="Europe/Berlin"'), json={
        "subject": "x", "start": {"dateTime": f"{day}T09:00:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": f"{day}T09:30:00", "timeZone": "Europe/Berlin"}})
    assert response.status_code == 201, response.get_json()
    assert response.headers["Preference-Applied"] == 'outlook.timezone="Europe/Berlin"'
    assert response.get_json()["start"] == {"dateTime": f"{day}T09:00:00.0000000", "timeZone": "Europe/Berlin"}
    assert "/" not in response.get_json()["id"]
    for answer in (client.put("/graph/v1.0/users", headers=headers(token)),
                   client.get("/graph/v1.0/users/x/nothing", headers=headers(token))):
        assert answer.status_code in (404, 405)
        assert answer.headers["Content-Type"] == "application/json"
        assert answer.get_json()["error"]["code"] in ("ErrorItemNotFound", "ErrorInvalidRequest")


def test_429_has_an_integer_retry_after_in_graphs_envelope(fresh_database_url, tmp_path):
    from citizen_portal.core.extensions import db, limiter
    from tests.factories import build_app

    app = build_app(fresh_database_url, tmp_path, RATELIMIT_ENABLED=True, GRAPH_RATE_LIMIT="2 per minute",
                    RATELIMIT_STORAGE_URI="memory://")
    try:
        with app.app_context():
            *_, token = staff_with_token()
            client = app.test_client()
            answers = [client.get("/graph/v1.0/users", headers=headers(token)) for _ in range(3)]
            db.engine.dispose()
    finally:
        limiter.enabled = False  # the limiter is global: later tests' apps expect it off
    assert [a.status_code for a in answers] == [200, 200, 429]
    limited = answers[2]
    assert limited.headers["Retry-After"].isdigit() and 1 <= int(limited.headers["Retry-After"]) <= 60
    assert limited.headers["Content-Type"] == "application/json"
    assert limited.get_json()["error"]["code"] == "TooManyRequests"

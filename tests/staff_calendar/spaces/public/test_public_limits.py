"""The public request form's protections with the app's real settings: CSRF, the captcha (a missing
solution is a translated 400, nothing stored) and the rate limit (429)."""

from __future__ import annotations

from datetime import timedelta

from citizen_portal.core.extensions import db
from staff_calendar.spaces.models import RoomRequest
from tests.factories import build_app
from tests.staff_calendar.spaces.factories import make_site
from tests.staff_calendar.spaces.public.helpers import make_public_room, request_body, series_start


def test_captcha_csrf_and_rate_limit(fresh_database_url, tmp_path):
    app = build_app(fresh_database_url, tmp_path, RATELIMIT_ENABLED=True, CAPTCHA="on", WTF_CSRF_ENABLED=True,
                    PUBLIC_ROOMS_RATE_LIMIT="3 per minute")
    with app.app_context():
        make_site()
        make_public_room()
        client = app.test_client()
        body = request_body(series_start() + timedelta(weeks=1))
        assert client.post("/raeume/buergerraum/anfragen", data=body).status_code == 400  # no CSRF token
        form = client.get("/raeume/buergerraum/anfragen", headers={"Accept-Language": "en"}).get_data(as_text=True)
        assert "altcha-widget" in form and 'name="altcha_wait"' in form  # with and without JavaScript
        token = form.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        refused = client.post("/raeume/buergerraum/anfragen", data={**body, "csrf_token": token},
                              headers={"Accept-Language": "en"})
        assert refused.status_code == 400 and "Security check" in refused.get_data(as_text=True)
        statuses = [client.post("/raeume/buergerraum/anfragen", data={**body, "csrf_token": token}).status_code
                    for _ in range(3)]
        assert statuses == [400, 400, 429]  # three per minute (the CSRF failure never reached the view)
        assert db.session.query(RoomRequest).count() == 0
        db.engine.dispose()

"""Rate limits and single-use captcha solutions across instances and behind a proxy (issue 18,
findings 5 and 12): one bucket per client, not per process and not per proxy."""

from __future__ import annotations

import logging

import requests

from citizen_portal.core import captcha
from citizen_portal.core.extensions import db
from tests.factories import build_app, make_user
from tests.fixtures.gunicorn import gunicorn_instance

WRONG_LOGIN = {"username": "nobody", "password": "wrong"}


def _attempt(client, **headers) -> int:
    return client.post("/anmelden", data=WRONG_LOGIN, headers=headers).status_code


def _app(database_url, tmp_path, **config):
    return build_app(database_url, tmp_path, RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute", **config)


def test_without_proxy_fix_every_client_behind_the_proxy_shares_its_bucket(fresh_database_url, tmp_path):
    client = _app(fresh_database_url, tmp_path).test_client()
    assert [_attempt(client, **{"X-Forwarded-For": f"203.0.113.{n}"}) for n in range(4)] == [400, 400, 400, 429]


def test_with_proxy_fix_each_client_has_its_own_bucket(fresh_database_url, tmp_path):
    client = _app(fresh_database_url, tmp_path, PROXY_FIX=1).test_client()
    assert [_attempt(client, **{"X-Forwarded-For": f"203.0.113.{n}"}) for n in range(4)] == [400] * 4


def test_a_client_cannot_choose_its_bucket_by_sending_its_own_header(fresh_database_url, tmp_path):
    client = _app(fresh_database_url, tmp_path, PROXY_FIX=1).test_client()
    # the proxy appends the address it saw; only the last (trusted) hop counts
    spoofed = [_attempt(client, **{"X-Forwarded-For": f"198.51.100.{n}, 203.0.113.99"}) for n in range(4)]
    assert spoofed == [400, 400, 400, 429]


def _booking_attempts(urls: list[str]) -> list[int]:
    """Rate-limited public writes (an empty booking: 400 until the limit answers 429)."""
    return [requests.post(f"{url}/api/v1/appointments", json={}, timeout=30).status_code for url in urls]


def test_a_limit_holds_across_instances_that_share_redis(fresh_database_url, tmp_path, clean_redis):
    settings = {"RATELIMIT_ENABLED": "true", "BOOKING_RATE_LIMIT": "3 per minute", "REDIS_URL": clean_redis}
    with gunicorn_instance(fresh_database_url, tmp_path / "a", **settings) as first, \
            gunicorn_instance(fresh_database_url, tmp_path / "b", **settings) as second:
        assert _booking_attempts([first, second, first, second]) == [400, 400, 400, 429]


def test_without_redis_each_instance_counts_alone(fresh_database_url, tmp_path):
    """What the finding saw (two processes double each limit): the README says to set REDIS_URL."""
    settings = {"RATELIMIT_ENABLED": "true", "BOOKING_RATE_LIMIT": "3 per minute"}
    with gunicorn_instance(fresh_database_url, tmp_path / "a", **settings) as first, \
            gunicorn_instance(fresh_database_url, tmp_path / "b", **settings) as second:
        assert _booking_attempts([first, second, first, second]) == [400, 400, 400, 400]


def test_a_captcha_solution_is_accepted_once_with_redis(fresh_database_url, tmp_path, clean_redis):
    app = _app(fresh_database_url, tmp_path, REDIS_URL=clean_redis, CAPTCHA="on", CAPTCHA_KEY_PREFIX="0")
    with app.test_request_context():
        payload = captcha.solve_for_tests(captcha.new_challenge())
        captcha.verify(payload)
        assert clean_redis  # the used solution is remembered in Redis, shared by every process:
        import redis

        assert any(b"altcha-used" in key for key in redis.Redis.from_url(clean_redis).scan_iter())
        try:
            captcha.verify(payload)
        except captcha.Invalid:
            pass
        else:
            raise AssertionError("a captcha solution was accepted twice")


def test_limit_log_lines_carry_no_client_address(fresh_database_url, tmp_path, caplog):
    client = _app(fresh_database_url, tmp_path, PROXY_FIX=1).test_client()
    caplog.set_level(logging.INFO)
    for _ in range(4):
        _attempt(client, **{"X-Forwarded-For": "203.0.113.77"})
    assert "exceeded" in caplog.text
    assert "203.0.113.77" not in caplog.text


def test_login_with_a_real_account_works_behind_the_proxy(fresh_database_url, tmp_path):
    app = _app(fresh_database_url, tmp_path, PROXY_FIX=1)
    with app.app_context():
        make_user("staffer", roles="staff", password="secret-pw-1")
        db.engine.dispose()
    response = app.test_client().post("/anmelden", data={"username": "staffer", "password": "secret-pw-1"},
                                      headers={"X-Forwarded-For": "203.0.113.5", "X-Forwarded-Proto": "https"})
    assert response.status_code == 303
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")

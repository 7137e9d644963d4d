"""The shared fixtures themselves: SMTP sink, live server, factories."""

from __future__ import annotations

import smtplib
import urllib.request

from citizen_portal.core.mail import Mail, send_mail
from citizen_portal.core.models import User
from tests.factories import make_location, make_service, make_staff, make_user
from tests.fixtures.mail import body_text


def test_smtp_sink_receives_mail_sent_by_the_app(app, smtp_sink):
    assert app.config["MAIL_SMTP_PORT"] == smtp_sink.port
    with app.test_request_context():
        send_mail(Mail(to="buerger@example.org", subject="Ihr Termin", text="Hallo Welt ä"))
    [message] = smtp_sink.wait_for(1)
    assert message["Subject"] == "Ihr Termin"
    assert message["To"] == "buerger@example.org"
    assert "Hallo Welt ä" in body_text(message)


def test_smtp_sink_without_app_exposes_host_and_port(smtp_sink):
    with smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=5) as smtp:
        smtp.sendmail("a@example.org", ["b@example.org"], b"Subject: x\r\n\r\nbody\r\n")
    assert smtp_sink.wait_for(1)[0]["Subject"] == "x"
    assert smtp_sink.envelopes == [("a@example.org", ["b@example.org"])]


def test_factories_build_core_objects(app):
    location = make_location("standesamt")
    service = make_service("geburtsurkunde", locations=[location])
    member = make_staff("mmueller", locations=[location], services=[service])
    user = make_user("mmueller", roles=["staff", "poll_admin"])
    assert service.locations == [location]
    assert member.services == [service]
    assert user.role_list == ["staff", "poll_admin"]
    assert user.password_hash.startswith("$argon2")


def test_live_server_serves_the_app_and_sees_seeded_data(live_server):
    from citizen_portal.core.extensions import db

    with live_server.app.app_context():
        make_user("seeded")
        db.session.commit()
    with urllib.request.urlopen(live_server.url + "/", timeout=10) as response:
        assert response.status == 200
        assert 'name="csrf_token"' in response.read().decode()
    with live_server.app.app_context():
        assert db.session.query(User).filter_by(username="seeded").count() == 1


def test_under_ci_every_skip_is_a_failure_and_locally_a_skip(pytester, monkeypatch):
    pytester.makeconftest('pytest_plugins = ["tests.fixtures.requirements"]')
    pytester.makepyfile("""
        import pytest
        from tests.fixtures.requirements import require

        def test_missing_part():
            require(False, "a CalDAV server")

        def test_plain_skip():
            pytest.skip("no browser")

        @pytest.mark.xfail(reason="known")
        def test_expected_failure():
            assert False
    """)
    monkeypatch.setenv("CI", "true")
    pytester.runpytest_inprocess("-p", "no:cacheprovider").assert_outcomes(failed=2, xfailed=1)
    monkeypatch.delenv("CI")
    pytester.runpytest_inprocess("-p", "no:cacheprovider").assert_outcomes(skipped=2, xfailed=1)

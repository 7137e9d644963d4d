"""Live results only from a minimum number of counted ballots (issue 17.7; default 10, a poll setting),
and the admin form's slug hint shown as text, not swallowed as an HTML tag."""

from __future__ import annotations

from citizen_portal.core.extensions import db
from polls.models import Poll
from polls.services import ballots
from polls.services import polls as poll_service
from tests.polls.factories import answers, close, count_ballots, make_poll


def test_live_results_wait_for_the_minimum_then_show(client, app):
    poll = make_poll(mode="open", visibility="live", min_ballots_live=3)
    for _ in range(2):
        ballots.cast_ballot(poll.id, answers(poll))
    count_ballots(poll)
    assert not poll_service.results_visible(poll, is_admin=False)
    assert client.get(f"/beteiligung/{poll.slug}/ergebnisse").status_code == 404
    assert client.get(f"/api/v1/polls/{poll.id}/results").status_code == 404
    page = client.get(f"/beteiligung/{poll.slug}").get_data(as_text=True)
    assert "Die laufenden Ergebnisse erscheinen ab 3 Stimmen." in page
    client.set_cookie("lang", "en")
    assert "Live results appear from 3 votes on." in client.get(f"/beteiligung/{poll.slug}").get_data(as_text=True)
    client.set_cookie("lang", "de")
    assert poll_service.results_visible(poll, is_admin=True)  # the administration always sees them

    ballots.cast_ballot(poll.id, answers(poll))
    count_ballots(poll)
    assert poll_service.results_visible(poll, is_admin=False)
    assert client.get(f"/beteiligung/{poll.slug}/ergebnisse").status_code == 200


def test_after_the_close_the_minimum_no_longer_hides_results(client, app):
    poll = make_poll(mode="open", visibility="live", min_ballots_live=10)
    ballots.cast_ballot(poll.id, answers(poll))
    count_ballots(poll)
    assert client.get(f"/beteiligung/{poll.slug}/ergebnisse").status_code == 404
    close(poll)
    assert client.get(f"/beteiligung/{poll.slug}/ergebnisse").status_code == 200


def test_admin_form_sets_the_minimum_default_ten_and_refuses_bad_input(client, poll_admin):
    form = {"slug": "spielplatz", "title_de": "Spielplatz", "mode": "codes", "results_visibility": "live",
            "opens_at": "2020-01-01T08:00", "closes_at": "2099-01-01T08:00", "published": "1"}
    page = client.get("/verwaltung/beteiligung/neu").get_data(as_text=True)
    assert 'name="min_ballots_live"' in page and 'value="10"' in page
    # the hint names the placeholder as text (escaped), not as a tag the browser drops
    assert "/beteiligung/&lt;Kurzname&gt;" in page and "<Kurzname>" not in page
    bad = client.post("/verwaltung/beteiligung/neu", data={**form, "min_ballots_live": "-1"})
    assert bad.status_code == 400 and "error-summary" in bad.get_data(as_text=True)
    assert db.session.query(Poll).filter_by(slug="spielplatz").count() == 0
    assert client.post("/verwaltung/beteiligung/neu", data=form).status_code == 303
    assert db.session.query(Poll).filter_by(slug="spielplatz").one().min_ballots_live == 10
    client.set_cookie("lang", "en")
    english = client.get("/verwaltung/beteiligung/neu").get_data(as_text=True)
    assert "/beteiligung/&lt;short name&gt;" in english

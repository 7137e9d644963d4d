"""Poll result charts on a 375 px phone (issue 17.7): labels drawn at least 12 px high, the chart within
the width, axe-core clean, German and English."""

from __future__ import annotations

import pytest

from polls.services import ballots
from tests.polls.factories import answers, count_ballots, make_poll

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("language", ["de", "en"])
def test_chart_labels_are_readable_on_a_phone(live_server, page, assert_no_axe_violations, language):
    with live_server.app.app_context():
        poll = make_poll(mode="open", visibility="live")
        for single in (0, 1, 1):
            ballots.cast_ballot(poll.id, answers(poll, single=single))
        count_ballots(poll)
        slug = poll.slug
    page.set_viewport_size({"width": 375, "height": 812})
    page.context.add_cookies([{"name": "lang", "value": language, "url": live_server.url}])
    page.goto(f"{live_server.url}/beteiligung/{slug}/ergebnisse")
    heights = page.evaluate("""() => [...document.querySelectorAll('.poll-chart__label, .poll-chart__value')]
        .map(e => e.getBoundingClientRect().height)""")
    assert heights and min(heights) >= 12, heights
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 375
    assert_no_axe_violations(page, f"results at 375 px ({language})")

"""The demo poll of ``make run`` (``flask polls demo``): open now, invitation codes, live results,
one question of each kind; five printed codes in ``instance/demo_poll_codes.txt``. Idempotent."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from citizen_portal.core import locks
from citizen_portal.core.database import write_transaction
from citizen_portal.core.extensions import db
from citizen_portal.core.security import write_private_file

from .models import Mode, Poll
from .schemas import PollInput, QuestionInput
from .services import participation
from .services import polls as poll_service
from .services.common import format_code, now

DEMO_SLUG = "spielplatz-am-stadtpark"
CODES_FILE = "demo_poll_codes.txt"

QUESTIONS = [
    QuestionInput(kind="single", text_de="Welcher Standort ist Ihnen für den neuen Spielplatz am liebsten?",
                  text_en="Which location do you prefer for the new playground?",
                  options_de=("Nordwiese am Stadtpark", "Hinter der Stadtbibliothek", "Am Mühlbach"),
                  options_en=("North meadow in the city park", "Behind the city library", "By the mill stream"),
                  required=True),
    QuestionInput(kind="multiple", text_de="Welche Spielgeräte wünschen Sie sich? (höchstens zwei)",
                  text_en="Which play equipment would you like? (at most two)",
                  options_de=("Kletterturm", "Wasserspielplatz", "Schaukeln", "Barrierefreies Karussell"),
                  options_en=("Climbing tower", "Water play", "Swings", "Accessible roundabout"), max_choices=2),
    QuestionInput(kind="rating", text_de="Wie zufrieden sind Sie mit den Spielplätzen in Musterhausen?",
                  text_en="How satisfied are you with the playgrounds in Musterhausen?"),
    QuestionInput(kind="text", text_de="Was sollen wir bei der Planung noch beachten?",
                  text_en="What else should we consider in the planning?"),
]


def load_demo_poll() -> Path:
    """Create the demo poll once; keep it open; write the five printed codes. Returns the codes file."""
    path = Path(current_app.instance_path) / CODES_FILE
    moment = now()
    poll = db.session.scalar(select(Poll).where(Poll.slug == DEMO_SLUG))
    if poll is None:
        poll = poll_service.create_poll(PollInput(
            slug=DEMO_SLUG, title_de="Neuer Spielplatz am Stadtpark", title_en="New playground at the city park",
            description_de="Die Stadt plant einen neuen Spielplatz. Sagen Sie uns, wo er entstehen soll und was "
                           "er bieten soll. Sie haben per Brief einen Einladungscode erhalten.",
            description_en="The city is planning a new playground. Tell us where it should be and what it should "
                           "offer. You received an invitation code by letter.",
            mode=Mode.CODES, results_visibility="live",
            opens_at=moment - timedelta(days=1), closes_at=moment + timedelta(days=60),
        ), None)
        for question in QUESTIONS:
            poll_service.add_question(poll.id, question)
    elif poll.status(moment) != "open":
        with write_transaction(locks.poll(poll.id)):
            poll = db.session.get(Poll, poll.id)
            poll.published = True
            poll.archived_at = None
            poll.opens_at = min(poll.opens_at, moment - timedelta(days=1))
            poll.closes_at = moment + timedelta(days=60)
    if not path.exists() or not participation.batches(poll.id):
        batch = participation.generate_codes(poll.id, 5)
        codes = participation.batch_codes(batch)
        write_private_file(path, "Demo-Umfrage / demo poll: /beteiligung/" + DEMO_SLUG + "\n"
                           + "".join(format_code(code) + "\n" for code in codes))  # codes are ballots: 0600
    return path

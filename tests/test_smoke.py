from sqlalchemy import text

from citizen_portal.core.extensions import db
from citizen_portal.core.models import User


def test_start_page_renders_in_german_by_default(client):
    response = client.get("/")
    assert response.status_code == 200
    assert '<html lang="de">' in response.get_data(as_text=True)


def test_writes_are_rolled_back_between_tests_part_one(app):
    db.session.add(User(username="rollback-probe", display_name="Probe"))
    db.session.commit()
    assert db.session.execute(text("SELECT count(*) FROM users")).scalar() == 1


def test_writes_are_rolled_back_between_tests_part_two(app):
    assert db.session.execute(text("SELECT count(*) FROM users")).scalar() == 0

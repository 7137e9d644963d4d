from citizen_portal.core.extensions import db
from citizen_portal.core.models import User
from tests.staff_calendar.spaces.factories import login_as, make_desk, make_floor, make_room, make_site


def test_pages_render(app, client, calendar_calls):
    make_site()
    floor = make_floor("f1")
    make_desk(floor, "d1", x=10, y=20)
    make_room(floor, "r1")
    user = User(username="anna", display_name="Anna", roles="admin", team="it")
    db.session.add(user)
    db.session.commit()
    login_as(client, user)
    for path in ["/arbeitsplaetze/", "/arbeitsplaetze/buchen", "/arbeitsplaetze/raeume", "/arbeitsplaetze/wer-ist-da",
                 "/arbeitsplaetze/verwaltung", "/arbeitsplaetze/verwaltung/platz/d1/qr",
                 "/arbeitsplaetze/platz/d1/einchecken"]:
        response = client.get(path)
        assert response.status_code == 200, (path, response.get_data(as_text=True)[:3000])

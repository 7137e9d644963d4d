import pytest

from tests.factories import make_user
from tests.polls.factories import login_as


@pytest.fixture
def poll_admin(app, client):
    user = make_user("umfrageadmin", roles="poll_admin")
    login_as(client, user)
    return user

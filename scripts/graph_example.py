"""A Microsoft Graph client (the official msgraph-sdk) against this platform: books a room and reads a
staff member's calendar. Runs against ``make run``:

    .venv/bin/flask users token create mmueller graph-example      # prints a token (shown once)
    GRAPH_TOKEN=cpt_... .venv/bin/python scripts/graph_example.py

Environment: ``GRAPH_BASE_URL`` (default ``http://127.0.0.1:5000/graph/v1.0``, no trailing slash),
``GRAPH_TOKEN`` (a personal API token; later an API client's access token), ``GRAPH_MAILBOX`` (whose
calendar to read; default the token's own mailbox ``/me``)."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import date, datetime, timedelta
from urllib.parse import urlparse

from kiota_abstractions.authentication import (
    AccessTokenProvider,
    AllowedHostsValidator,
    BaseBearerTokenAuthenticationProvider,
)
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph import GraphServiceClient
from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
from msgraph.generated.models.event import Event
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.users.item.calendar_view.calendar_view_request_builder import CalendarViewRequestBuilder
from msgraph.graph_request_adapter import GraphRequestAdapter
from msgraph_core import PageIterator

BASE_URL = os.environ.get("GRAPH_BASE_URL", "http://127.0.0.1:5000/graph/v1.0").rstrip("/")
TOKEN = os.environ.get("GRAPH_TOKEN", "")
ZONE = "W. Europe Standard Time"


class StaticTokenProvider(AccessTokenProvider):
    """Hands the fixed token to the SDK, only for our own host."""

    def __init__(self, token: str, allowed_hosts: list[str]) -> None:
        self._token = token
        self._validator = AllowedHostsValidator(allowed_hosts)

    async def get_authorization_token(self, uri, additional_authentication_context=None):
        return self._token if self._validator.is_url_host_valid(uri) else ""

    def get_allowed_hosts_validator(self):
        return self._validator


def make_client(base_url: str = BASE_URL, token: str = TOKEN) -> tuple[GraphServiceClient, GraphRequestAdapter]:
    """A Graph client whose requests go to ``base_url`` with the fixed ``token`` (the tests use it too)."""
    auth = BaseBearerTokenAuthenticationProvider(StaticTokenProvider(token, [urlparse(base_url).hostname]))
    adapter = GraphRequestAdapter(auth)
    adapter.base_url = base_url
    return GraphServiceClient(request_adapter=adapter), adapter


def working_days(start: date, count: int) -> list[date]:
    days, day = [], start
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


async def main() -> int:
    client, adapter = make_client()
    mailbox = client.users.by_user_id(os.environ["GRAPH_MAILBOX"]) if os.environ.get("GRAPH_MAILBOX") else client.me
    rooms = (await client.places.graph_room.get()).value
    print(f"{len(rooms)} rooms:", ", ".join(f"{r.display_name} ({r.capacity} seats)" for r in rooms))

    # book the first room for an hour on the first free working day (the room rules decide)
    booked = None
    for day in working_days(date.today() + timedelta(days=2), 5):
        for hour in (14, 15, 16, 10, 11):
            start = datetime.combine(day, datetime.min.time()).replace(hour=hour)
            try:
                booked = await client.users.by_user_id(rooms[0].email_address).events.post(Event(
                    subject="Graph-Beispiel",
                    start=DateTimeTimeZone(date_time=start.isoformat(), time_zone=ZONE),
                    end=DateTimeTimeZone(date_time=(start + timedelta(hours=1)).isoformat(), time_zone=ZONE)))
                break
            except ODataError as error:
                if error.response_status_code != 409:
                    raise
        if booked:
            break
    if booked is None:
        print("no free hour found for the room", file=sys.stderr)
        return 1
    print(f"booked {rooms[0].display_name}: {booked.start.date_time} ({booked.start.time_zone}), id {booked.id}")

    # read the calendar of the coming week, 10 per page, in Berlin time
    today = date.today()
    query = CalendarViewRequestBuilder.CalendarViewRequestBuilderGetQueryParameters(
        start_date_time=f"{today}T00:00:00", end_date_time=f"{today + timedelta(days=7)}T00:00:00", top=10)
    config = RequestConfiguration(query_parameters=query)
    config.headers.add("Prefer", f'outlook.timezone="{ZONE}"')
    page = await mailbox.calendar_view.get(request_configuration=config)
    events: list[Event] = []
    iterator = PageIterator(page, adapter)
    iterator.headers.add("Prefer", f'outlook.timezone="{ZONE}"')
    await iterator.iterate(lambda event: events.append(event) or True)
    print(f"{len(events)} events in the coming week:")
    for event in events:
        show_as = event.show_as.value if event.show_as else ""
        print(f"  {event.start.date_time[:16]}  {show_as:9}  {event.subject or '(privat)'}")
    return 0


if __name__ == "__main__":
    if not TOKEN:
        sys.exit("set GRAPH_TOKEN (flask users token create <user> <name>)")
    sys.exit(asyncio.run(main()))

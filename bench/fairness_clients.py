"""The clients of the fair-access bench (``bench.fairness``): bots and humans, the mailbox they read
their links from, and how each behaves under (a) first come, first served, (b) the waiting list and
(c) a release window with a lottery."""

from __future__ import annotations

import random
import re
import threading
import time as clock
from datetime import date

import requests

SERVICE, LOCATION = "aufenthalt", "abh"


class Mailbox:
    """The SMTP sink's messages indexed by recipient (each message parsed once by one pump thread),
    and their links. A client waits on its own address's event: 550 clients polling the sink would
    starve the sink's event loop in this process and make the mail, not the rules, the measure."""

    def __init__(self, sink) -> None:
        self.sink = sink
        self.lock = threading.Lock()
        self.seen = 0
        self.bodies: dict[str, list[str]] = {}
        self.arrived: dict[str, threading.Event] = {}
        self.closed = False
        threading.Thread(target=self._pump, daemon=True).start()

    def close(self) -> None:
        self.closed = True

    def _pump(self) -> None:
        while not self.closed:
            with self.sink.condition:
                while len(self.sink.messages) <= self.seen and not self.closed:
                    self.sink.condition.wait(1.0)
                new = list(self.sink.messages[self.seen:])
            self.seen += len(new)
            for message in new:
                text = message.get_body(preferencelist=("plain",)).get_content()
                address = message["To"].lower()
                with self.lock:
                    self.bodies.setdefault(address, []).append(text)
                    self.arrived.setdefault(address, threading.Event()).set()

    def link(self, address: str, path: str, timeout: float = 60.0) -> tuple[int, str] | None:
        deadline = clock.monotonic() + timeout
        pattern = re.compile(rf"/termine/warteliste/{path}/(\d+)\?token=([\w-]+)")
        address = address.lower()
        while True:
            with self.lock:
                for text in self.bodies.get(address, []):
                    match = pattern.search(text)
                    if match:
                        return int(match.group(1)), match.group(2)
                arrived = self.arrived.setdefault(address, threading.Event())
                arrived.clear()
            remaining = deadline - clock.monotonic()
            if remaining <= 0 or not arrived.wait(remaining):
                return None


class Actor:
    """A client: a bot (spellings of one mailbox, no think time) or a human (one address, think time)."""

    def __init__(self, kind: str, index: int, scale: float) -> None:
        self.kind, self.index, self.scale = kind, index, scale
        self.rng = random.Random(f"{kind}{index}")
        self.session = requests.Session()
        self.mailbox = f"bot{index}@gmail.com" if kind == "bot" else f"human{index}@example.org"
        self.result: str | None = None
        self.outcome = "did not try"  # (b): where it ended, for the breakdown
        self.seconds: float | None = None

    def spelling(self, attempt: int) -> str:
        if self.kind == "human":
            return self.mailbox
        local = f"bot{self.index}"
        dotted = ".".join(local) if attempt % 2 else local
        return f"{dotted}+x{attempt}@{'GMail.com' if attempt % 3 else 'googlemail.com'}"

    def think(self) -> None:
        if self.kind == "human":
            clock.sleep(self.rng.uniform(2, 20) * self.scale)

    def sign_up(self, url: str, path: str, attempt: int, solver) -> tuple[str, requests.Response]:
        """Think, then send this attempt's spelling of the address (name, consent, a solved captcha) to
        ``path``: joining the waiting list or asking for the lottery are the same step."""
        self.think()
        address = self.spelling(attempt)
        answer = self.session.post(f"{url}{path}", timeout=60, json={
            "name": f"{self.kind} {self.index}", "email": address, "privacy_consent": True,
            "altcha": self.captcha(url, solver)})
        return address, answer

    def sign_up_attempts(self) -> range:
        return range(20 if self.kind == "bot" else 1)

    def captcha(self, url: str, solver) -> str:
        from citizen_portal.core import captcha

        challenge = self.session.get(f"{url}/api/v1/captcha/challenge", timeout=60).json()
        with solver.app_context():
            return captcha.solve_for_tests(challenge)


# ------------------------------------------------------------------ (a) first come, first served

def fcfs(actor: Actor, url: str, day: date, solver, began: float) -> None:
    for attempt in range(40 if actor.kind == "bot" else 4):
        actor.think()
        slots = actor.session.get(f"{url}/api/v1/services/{SERVICE}/slots",
                                  params={"from": day.isoformat(), "to": day.isoformat()}, timeout=60).json()
        if not slots.get("slots"):
            break
        start = actor.rng.choice(slots["slots"])["start"]
        actor.think()
        answer = actor.session.post(f"{url}/api/v1/appointments", timeout=60, json={
            "service": SERVICE, "location": LOCATION, "start": start, "name": f"{actor.kind} {actor.index}",
            "email": actor.spelling(attempt), "privacy_consent": True, "altcha": actor.captcha(url, solver)})
        if answer.status_code == 201:
            actor.result = "booked"
            break
        if answer.status_code == 409 and answer.json().get("error") == "limit_reached" and actor.kind == "human":
            break
    actor.seconds = clock.monotonic() - began


# ------------------------------------------------------------------ (b) the waiting list

def waiting(actor: Actor, url: str, mail: Mailbox, solver, began: float, joined: threading.Barrier,
            offered: threading.Event) -> None:
    on_list = None
    for attempt in actor.sign_up_attempts():
        address, answer = actor.sign_up(url, f"/api/v1/services/{SERVICE}/waiting-list", attempt, solver)
        if answer.status_code != 202 or on_list:  # already on the list: the answer is the same, nothing new
            actor.outcome = actor.outcome if on_list else f"join answered {answer.status_code}"
            continue
        link = mail.link(address, "bestaetigen", timeout=30)
        actor.outcome = "no confirmation mail within 30 s" if link is None else actor.outcome
        if link is not None:
            actor.think()
            confirmed = actor.session.post(f"{url}/api/v1/waiting-list/{link[0]}/confirmation",
                                           json={"token": link[1]}, timeout=60)
            on_list = on_list or (address if confirmed.status_code == 200 else None)
    if on_list:
        actor.outcome = "on the list"
    elif actor.outcome == "did not try":
        actor.outcome = "confirmation refused"
    joined.wait()
    offered.wait()  # every freed time has been offered (the offers are mailed before the cancel returns)
    found = mail.link(on_list, "angebot", timeout=2) if on_list else None
    if found:
        actor.think()
        answer = actor.session.post(f"{url}/api/v1/waiting-list/offers/{found[0]}/acceptance",
                                    json={"token": found[1]}, timeout=60)
        actor.result = "booked" if answer.status_code == 201 else None
        actor.outcome = "booked" if actor.result else f"offer refused: {answer.status_code} {answer.text[:80]}"
    elif on_list:
        actor.outcome = "no offer"
    actor.seconds = clock.monotonic() - began


# ------------------------------------------------------------------ (c) release window + lottery

def window(actor: Actor, url: str, mail: Mailbox, solver, began: float) -> None:
    confirmed = False
    for attempt in actor.sign_up_attempts():
        address, answer = actor.sign_up(url, f"/api/v1/services/{SERVICE}/release-requests", attempt, solver)
        if answer.status_code != 202 or confirmed:  # one request per mailbox: further spellings add nothing
            continue
        link = mail.link(address, "losung/bestaetigen", timeout=30)
        if link is not None:
            actor.think()
            confirmed = actor.session.post(f"{url}/api/v1/release-requests/{link[0]}/confirmation",
                                           json={"token": link[1]}, timeout=60).status_code == 200

#!/usr/bin/env python3
"""``make run``: the whole platform on this machine, with demo data.

Steps: embedded Radicale (htpasswd auth, rights file) → ``flask db upgrade`` →
``flask site load`` (demo/site.toml, CalDAV port adjusted) → demo calendars with busy events →
first ``flask staff-calendar sync`` → demo logins → gunicorn and, if it exists, the worker
(``flask worker``).
Ctrl-C or SIGTERM stops every child.

Environment: PORTAL_HOST (127.0.0.1), PORTAL_PORT (5000), PORTAL_CALDAV_PORT (5232),
PORTAL_INSTANCE_PATH (instance/), PORTAL_SITE_FILE (demo/site.toml), PORTAL_WORKERS (2), and
every other PORTAL_* variable of citizen_portal/core/config.py (passed to the children).
The CalDAV password of the ``portal`` service account is generated into
``instance/caldav_password`` (mode 0600) on first run and exported as CALDAV_PASSWORD.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from citizen_portal.core.config import ensure_secret_file

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SERVICE_ACCOUNT = "portal"
STAFF_CALDAV_PASSWORD = "caldav-demo"  # staff may subscribe to their own calendar in a CalDAV client
DEMO_LOGINS = (  # username, password, roles, display name; passwords meet the normal policy
    ("admin", "admin-demo", "admin", "Administration"),
    ("mmueller", "mueller-demo", "staff,service_admin", "Maria Müller"),
    ("tschmidt", "schmidt-demo", "staff", "Thomas Schmidt"),
    ("poll", "poll-demo", "poll_admin", "Bürgerbeteiligung"),
    ("raeume", "raeume-demo", "room_admin", "Raumvergabe"),
)


@dataclass
class Settings:
    host: str
    port: int
    caldav_port: int
    instance: Path
    site_file: Path
    workers: int

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            host=os.environ.get("PORTAL_HOST", "127.0.0.1"),
            port=int(os.environ.get("PORTAL_PORT", "5000")),
            caldav_port=int(os.environ.get("PORTAL_CALDAV_PORT", "5232")),
            instance=Path(os.environ.get("PORTAL_INSTANCE_PATH") or ROOT / "instance").resolve(),
            site_file=Path(os.environ.get("PORTAL_SITE_FILE") or ROOT / "demo" / "site.toml").resolve(),
            workers=int(os.environ.get("PORTAL_WORKERS", "2")),
        )

    @property
    def caldav_url(self) -> str:
        return f"http://127.0.0.1:{self.caldav_port}/"

    @property
    def portal_url(self) -> str:
        return f"http://{self.host}:{self.port}/"


@dataclass
class Supervisor:
    """The children, stopped in reverse order of start (SIGTERM, then SIGKILL after a grace period)."""

    children: list[tuple[str, subprocess.Popen]] = field(default_factory=list)

    def start(self, name: str, command: list[str], env: dict[str, str], log: Path | None = None) -> subprocess.Popen:
        output = open(log, "ab") if log else None  # noqa: SIM115 - kept open for the child's lifetime
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT if log else None,
                                   start_new_session=True)
        self.children.append((name, process))
        return process

    def check(self) -> str | None:
        """The name of a child that has exited, if any."""
        for name, process in self.children:
            if process.poll() is not None:
                return name
        return None

    def stop(self) -> None:
        for name, process in reversed(self.children):
            if process.poll() is None:
                step(f"stopping {name}")
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for _name, process in reversed(self.children):
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.children.clear()


def step(message: str) -> None:
    print(f"==> {message}", flush=True)


def wait_for_port(host: str, port: int, process: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening on {host}:{port}")
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex((host, port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout:.0f} s")


def port_is_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


# --------------------------------------------------------------------------- CalDAV server


def caldav_password(instance: Path) -> str:
    """The service account's password from ``instance/caldav_password``, generated (0600) on first run."""
    return ensure_secret_file(instance, "caldav_password", 24)


RIGHTS = """\
# Radicale rights for the demo (generated by scripts/run.py).
# The portal service account reads and writes every calendar; staff own only their own.
[portal]
user: portal
collection: .*
permissions: RrWw

[root]
user: .+
collection:
permissions: R

[principal]
user: .+
collection: {user}
permissions: RW

[own-calendars]
user: .+
collection: {user}/[^/]+
permissions: rw
"""


def write_radicale_config(settings: Settings, password: str, staff_keys: list[str]) -> Path:
    """Config, htpasswd (plain; the file is 0600) and rights under ``instance/radicale/``."""
    folder = settings.instance / "radicale"
    folder.mkdir(parents=True, exist_ok=True)
    users = folder / "users"
    lines = [f"{SERVICE_ACCOUNT}:{password}"] + [f"{key}:{STAFF_CALDAV_PASSWORD}" for key in staff_keys]
    fd = os.open(users, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    (folder / "rights").write_text(RIGHTS)
    config = folder / "config"
    config.write_text(f"""\
[server]
hosts = 127.0.0.1:{settings.caldav_port}

[auth]
type = htpasswd
htpasswd_filename = {users}
htpasswd_encryption = autodetect
cache_logins = true

[rights]
type = from_file
file = {folder / 'rights'}

[storage]
filesystem_folder = {folder / 'collections'}

[web]
type = none

[logging]
level = warning
""")
    return config


# --------------------------------------------------------------------------- site file


def demo_site_file(settings: Settings) -> Path:
    """The site file with the demo CalDAV port replaced by the configured one."""
    text = settings.site_file.read_text(encoding="utf-8")
    text = text.replace("http://127.0.0.1:5232/", settings.caldav_url)
    target = settings.instance / "site.toml"
    target.write_text(text, encoding="utf-8")
    return target


def calendar_urls(site_file: Path) -> tuple[list[str], list[str]]:
    """Staff keys and every calendar URL named in the site file."""
    import tomllib

    document = tomllib.loads(site_file.read_text(encoding="utf-8"))
    staff = [entry["key"] for entry in document.get("staff", [])]
    urls = [entry["calendar"]["url"] for kind in ("staff", "rooms") for entry in document.get(kind, [])
            if "calendar" in entry]
    return staff, urls


# --------------------------------------------------------------------------- demo logins (sub-mode)


def create_demo_users() -> None:
    """Create the demo logins that do not exist yet (run in a child: ``run.py --create-demo-users``),
    through the same service as ``flask users create`` (username, role and password rules)."""
    sys.path.insert(0, str(ROOT))
    from citizen_portal.app import create_app
    from citizen_portal.auth.services import create_user, get_user

    app = create_app()
    with app.app_context():
        for username, password, roles, name in DEMO_LOGINS:
            if get_user(username) is None:
                create_user(username, name, roles=roles, password=password)
                print(f"+ user {username} ({roles})")


# --------------------------------------------------------------------------- main


def flask(*args: str) -> list[str]:
    return [sys.executable, "-m", "flask", *args]


def run(command: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(command, cwd=ROOT, env=env)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command[2:] if command[1] == '-m' else command)} failed "
                           f"(exit {result.returncode})")


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def start_all(settings: Settings, supervisor: Supervisor) -> None:
    started = time.monotonic()
    for name, port, host in (("portal", settings.port, settings.host), ("CalDAV", settings.caldav_port, "127.0.0.1")):
        if not port_is_free(host, port):
            raise RuntimeError(f"port {host}:{port} for the {name} is in use: set PORTAL_"
                               f"{'PORT' if name == 'portal' else 'CALDAV_PORT'} to another one")
    settings.instance.mkdir(parents=True, exist_ok=True)
    logs = settings.instance / "logs"
    logs.mkdir(exist_ok=True)
    password = caldav_password(settings.instance)
    env = {**os.environ, "CALDAV_PASSWORD": password, "PORTAL_INSTANCE_PATH": str(settings.instance),
           "FLASK_APP": "citizen_portal.app:create_app", "PYTHONUNBUFFERED": "1"}
    env.setdefault("PORTAL_BASE_URL", settings.portal_url.rstrip("/"))
    # the demo serves plain HTTP on loopback; behind the city's TLS proxy the cookie stays Secure
    env.setdefault("PORTAL_SESSION_COOKIE_SECURE", "false")
    site_file = demo_site_file(settings)
    staff_keys, urls = calendar_urls(site_file)

    step(f"CalDAV server (Radicale) on {settings.caldav_url}")
    config = write_radicale_config(settings, password, staff_keys)
    radicale = supervisor.start("Radicale", [sys.executable, "-m", "radicale", "--config", str(config)], env,
                                log=logs / "radicale.log")
    wait_for_port("127.0.0.1", settings.caldav_port, radicale)

    step("database migrations (flask db upgrade)")
    run(flask("db", "upgrade"), env)
    step(f"site file {settings.site_file.name} (flask site load)")
    run(flask("site", "load", str(site_file)), env)
    step("demo calendars and busy events")
    run([sys.executable, "-m", "staff_calendar.demo_seed", "--username", SERVICE_ACCOUNT,
         "--password-env", "CALDAV_PASSWORD", *urls], env)
    # staff are offered to citizens only as far as their calendars are mirrored: mirror them now,
    # not only in the worker's first round
    step("first calendar sync (flask staff-calendar sync)")
    run(flask("staff-calendar", "sync"), env)
    step("demo logins")
    run([sys.executable, str(Path(__file__).resolve()), "--create-demo-users"], env)
    step("demo poll with printed invitation codes (flask polls demo)")
    run(flask("polls", "demo"), env)

    step(f"web server (gunicorn, {settings.workers} workers) on {settings.portal_url}")
    gunicorn = supervisor.start("gunicorn", [
        sys.executable, "-m", "gunicorn", "-w", str(settings.workers), "-b", f"{settings.host}:{settings.port}",
        "--graceful-timeout", "5", "citizen_portal.app:create_app()"], env)
    step("background worker (flask worker: calendar outbox and sync, reminders, purges)")
    supervisor.start("worker", flask("worker"), env)
    wait_for_port(settings.host, settings.port, gunicorn)
    status = http_status(settings.portal_url)
    print_ready(settings, status, time.monotonic() - started)


def print_ready(settings: Settings, status: int, seconds: float) -> None:
    if status != 200:
        print(f"warning: the start page answered {status}; see the gunicorn output above", flush=True)
    print(f"""
Ready after {seconds:.0f} s (start page answered {status}).
  Portal:        {settings.portal_url}
  English:       the language switch in the page header (or a browser set to English)
  Health check:  {settings.portal_url}healthz
  CalDAV server: {settings.caldav_url}  (user {SERVICE_ACCOUNT}, password in {settings.instance / 'caldav_password'};
                 staff calendars e.g. {settings.caldav_url}mmueller/termine/ as mmueller / {STAFF_CALDAV_PASSWORD})
  Demo logins:   {', '.join(f'{user} / {password} ({roles})' for user, password, roles, _ in DEMO_LOGINS)}
  Public rooms:  {settings.portal_url}raeume/ (requests approved at {settings.portal_url}raeume/verwaltung/ as raeume)
  Demo poll:     {settings.portal_url}beteiligung/ (printed codes in {settings.instance / 'demo_poll_codes.txt'})
  Mails:         written to {settings.instance / 'mail'} (no SMTP server configured)
  Logs:          {settings.instance / 'logs'}
Press Ctrl-C to stop.""", flush=True)


def main() -> int:
    if sys.argv[1:] == ["--create-demo-users"]:
        create_demo_users()
        return 0
    # everything the stack creates in instance/ (database, WAL, mail, demo codes, CalDAV data) is private
    os.umask(0o077)
    settings = Settings.from_env()
    supervisor = Supervisor()
    stopping = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        start_all(settings, supervisor)
        while True:
            exited = supervisor.check()
            if exited:
                print(f"{exited} exited unexpectedly; stopping everything", file=sys.stderr, flush=True)
                return 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        print(flush=True)
        return 0
    except (RuntimeError, TimeoutError) as problem:
        print(f"error: {problem}", file=sys.stderr, flush=True)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        supervisor.stop()
        step("stopped")


if __name__ == "__main__":
    raise SystemExit(main())

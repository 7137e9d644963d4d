"""The production files in ``deploy/`` parse and fit the app: gunicorn's settings (and real gunicorn
started with them, metrics summed over its workers), the compose file, the systemd units
(``systemd-analyze verify``), the nginx site (``nginx -t``), the Containerfile."""

from __future__ import annotations

import os
import re
import runpy
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import yaml
from prometheus_client.parser import text_string_to_metric_families

from citizen_portal.core import config
from tests.fixtures.database import free_port, wait_for_port
from tests.fixtures.requirements import require

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"


def test_gunicorn_settings_import_and_clear_the_metrics_directory(tmp_path, monkeypatch):
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_123.db").write_bytes(b"stale")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir))
    monkeypatch.setenv("GUNICORN_WORKERS", "3")
    settings = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    assert settings["wsgi_app"] == "citizen_portal.app:create_app()"
    assert settings["workers"] == 3 and settings["bind"] == "127.0.0.1:8000"
    assert settings["accesslog"] is None  # no client addresses in logs
    settings["on_starting"](None)
    assert metrics_dir.is_dir() and not list(metrics_dir.iterdir())


def _gunicorn_with_deploy_settings(database_url: str, tmp_path: Path, **env: str):
    port = free_port()
    environment = {**os.environ, "PORTAL_DATABASE_URL": database_url, "PORTAL_INSTANCE_PATH": str(tmp_path),
                   "PORTAL_SECRET_KEY": "deploy-test", "PORTAL_CAPTCHA": "off",
                   "PORTAL_OUTBOX_DRAIN_AFTER_COMMIT": "false", "PORTAL_METRICS_ALLOW": "127.0.0.1",
                   "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "2", **env}
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(DEPLOY / "gunicorn.conf.py")],
                               cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               start_new_session=True)
    wait_for_port(port, timeout=60)
    return process, f"http://127.0.0.1:{port}"


def test_gunicorn_with_the_deploy_settings_sums_metrics_over_its_workers(fresh_database_url, tmp_path):
    metrics_dir = tmp_path / "metrics"
    process, url = _gunicorn_with_deploy_settings(fresh_database_url, tmp_path,
                                                  PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))
    try:
        session_a, session_b = requests.Session(), requests.Session()  # two keep-alive connections
        request_ids = set()
        for index in range(30):
            answer = (session_a if index % 2 else session_b).get(f"{url}/api/v1/services", timeout=30)
            assert answer.status_code == 200
            request_ids.add(answer.headers.get("X-Request-ID"))
        text = requests.get(f"{url}/metrics", timeout=30).text
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)
    count = sum(sample.value for family in text_string_to_metric_families(text) for sample in family.samples
                if sample.name == "portal_http_request_duration_seconds_count"
                and sample.labels.get("route") == "/api/v1/services")
    assert count == 30  # every request, whichever worker answered it
    assert len(list(metrics_dir.glob("histogram_*.db"))) >= 1
    assert len(request_ids) == 30  # a new id for each request


def test_compose_file_has_the_services_and_only_declared_settings():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "radicale", "migrate", "app", "worker"}
    assert services["migrate"]["command"] == ["flask", "db", "upgrade"]
    assert services["worker"]["command"] == ["flask", "worker"]
    assert services["app"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["app"]["ports"] == ["127.0.0.1:8000:8000"]
    for name in ("app", "worker", "migrate"):
        environment = services[name]["environment"]
        unknown = [key for key in environment if key.startswith("PORTAL_")
                   and key.removeprefix("PORTAL_") not in config.BY_KEY]
        assert not unknown, unknown
        assert environment["PORTAL_PROXY_FIX"] == "1" and environment["PORTAL_REDIS_URL"].startswith("redis://")
        assert services[name]["build"]["dockerfile"] == "deploy/Containerfile"


def test_containerfile_copies_only_what_exists():
    lines = (DEPLOY / "Containerfile").read_text().splitlines()
    bases = [line.split()[1] for line in lines if line.startswith("FROM ")]
    assert bases[-1].startswith("docker.io/library/python:3.11")
    for line in lines:
        if line.startswith("COPY ") and "--from=" not in line:
            *sources, _target = line.split()[1:]
            for source in sources:
                assert (ROOT / source).exists(), source
    assert any(line.startswith("CMD ") and "deploy/gunicorn.conf.py" in line for line in lines)
    # create_app at build time would write instance/secret_key into a layer: build steps use a throw-away one
    building = [line for line in lines if line.startswith("RUN ") and "flask " in line]
    assert building and all("PORTAL_INSTANCE_PATH=/tmp/" in line and "PORTAL_SECRET_KEY=" in line
                            for line in building)


@pytest.mark.parametrize("unit", ["municipal-services-web.service", "municipal-services-worker.service"])
def test_systemd_units_verify(unit, tmp_path):
    binary = shutil.which("systemd-analyze")
    require(binary is not None, "systemd-analyze (Debian package systemd)")
    text = (DEPLOY / "systemd" / unit).read_text()
    # the unit as installed under /opt/municipal-services, pointed at this checkout
    text = text.replace("/opt/municipal-services/.venv", str(Path(sys.executable).parent.parent))
    text = text.replace("/opt/municipal-services", str(ROOT))
    (tmp_path / unit).write_text(text)
    done = subprocess.run([binary, "verify", str(tmp_path / unit)], capture_output=True, text=True, timeout=60)
    complaints = [line for line in done.stderr.splitlines() if unit in line]
    assert done.returncode == 0 and not complaints, done.stderr


def test_nginx_site_passes_nginx_t_and_forwards_what_proxy_fix_reads(tmp_path):
    site = (DEPLOY / "nginx" / "municipal-services.conf").read_text()
    for header in ("X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Request-ID"):
        assert f"proxy_set_header {header} " in site
    assert "location = /metrics { return 404; }" in site
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    require(nginx is not None, "nginx (Debian package nginx-light)")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=test",
                    "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")],
                   check=True, capture_output=True, timeout=60)
    site = site.replace("/etc/ssl/certs/municipal-services.pem", str(tmp_path / "cert.pem"))
    site = site.replace("/etc/ssl/private/municipal-services.key", str(tmp_path / "key.pem"))
    site = re.sub(r"/var/log/nginx/\S+;", f"{tmp_path}/error.log;", site)
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n  access_log off;\n  client_body_temp_path {tmp_path};\n  proxy_temp_path {tmp_path};\n"
        f"  include {tmp_path}/site.conf;\n}}\n")
    done = subprocess.run([nginx, "-t", "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr

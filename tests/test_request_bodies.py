"""Issue 18.12: a chunked request body over ``MAX_CONTENT_LENGTH`` gets 413 (it used to be read as
empty behind gunicorn: a 400 that hid the cause), through real gunicorn and through the test client."""

from __future__ import annotations

import io

import requests

from tests.fixtures.gunicorn import gunicorn_instance


def _chunks(size: int):
    for _ in range(size // 100):
        yield b"x" * 100


def test_a_chunked_body_over_the_limit_is_413_behind_gunicorn(fresh_database_url, tmp_path):
    with gunicorn_instance(fresh_database_url, tmp_path / "g", MAX_CONTENT_LENGTH="1024") as url:
        for path, content_type in (("/api/v1/suggestions", "application/json"),
                                   ("/beteiligung/ideen/neu", "application/x-www-form-urlencoded"),
                                   ("/anmelden", "application/x-www-form-urlencoded")):
            response = requests.post(url + path, data=_chunks(5000), headers={"Content-Type": content_type},
                                     timeout=30)
            assert response.status_code == 413, (path, response.status_code)
            assert "zu groß" in (response.json()["detail"] if "json" in response.headers["Content-Type"]
                                 else response.text)
        # a small chunked body still arrives whole
        small = requests.post(url + "/api/v1/suggestions", headers={"Content-Type": "application/json"},
                              data=iter([b'{"title": "Brunnen", ', b'"text": "Wasser", "email": "x"}']), timeout=30)
        assert small.status_code == 400
        assert set(small.json()["fields"]) == {"email"}


def test_a_chunked_body_through_the_test_client(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024)
    headers = {"Transfer-Encoding": "chunked", "Content-Type": "application/json"}
    chunked = {"CONTENT_LENGTH": ""}  # as a server hands a chunked body to the app: no length
    big = client.post("/api/v1/suggestions", input_stream=io.BytesIO(b"x" * 5000), headers=headers,
                      environ_overrides=chunked)
    assert big.status_code == 413 and big.json["error"] == "too_large"
    small = client.post("/api/v1/suggestions", input_stream=io.BytesIO(b'{"title": "Brunnen"}'), headers=headers,
                        environ_overrides=chunked)
    assert small.status_code == 400 and "text" in small.json["fields"]

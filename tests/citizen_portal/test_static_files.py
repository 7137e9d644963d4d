"""Static files for production (issue 17.7): fingerprinted names with an immutable cache, compressed bodies,
conditional GET, old fingerprints not cached, nothing outside the static folder."""

from __future__ import annotations

import gzip
import re

from flask import url_for


def _url(app, filename: str) -> str:
    with app.test_request_context():
        return url_for("static", filename=filename)


def test_fingerprinted_name_is_cached_for_a_year_and_compressed(app, client):
    url = _url(app, "css/site.css")
    assert re.fullmatch(r"/static/css/site\.[0-9a-f]{12}\.css", url)
    plain = client.get(url)
    assert plain.status_code == 200 and plain.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "Content-Encoding" not in plain.headers and plain.mimetype == "text/css"
    packed = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert packed.headers["Content-Encoding"] in ("gzip", "br") and "Accept-Encoding" in packed.headers["Vary"]
    if packed.headers["Content-Encoding"] == "gzip":
        assert gzip.decompress(packed.data) == plain.data
    assert len(packed.data) < len(plain.data)
    again = client.get(url, headers={"Accept-Encoding": "gzip", "If-None-Match": packed.headers["ETag"]})
    assert again.status_code == 304


def test_pages_link_fingerprinted_files(client):
    page = client.get("/").get_data(as_text=True)
    assert re.search(r'href="/static/vendor/kern/kern\.min\.[0-9a-f]{12}\.css"', page)
    assert '<meta name="description" content="' in page
    # the fonts the stylesheet names relatively are preloaded under that same (unversioned) URL
    assert 'href="/static/vendor/kern/fonts/fira-sans/FiraSans-Regular.woff2" as="font"' in page


def test_old_or_missing_fingerprints_and_escapes(client):
    old = client.get("/static/css/site.000000000000.css")
    assert old.status_code == 200 and old.headers["Cache-Control"] == "no-cache"
    unversioned = client.get("/static/css/site.css")
    assert unversioned.status_code == 200 and unversioned.headers["Cache-Control"] == "public, max-age=86400"
    assert client.get("/static/css/nope.css").status_code == 404
    assert client.get("/static/../pyproject.toml").status_code == 404
    assert client.get("/static/%2e%2e/pyproject.toml").status_code == 404

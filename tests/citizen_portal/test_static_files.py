"""Static files for production (issue 17.7): fingerprinted names with an immutable cache, compressed bodies,
conditional GET, old fingerprints not cached, nothing outside the static folder; the pages' one KERN
stylesheet is cut to the rules the sources can use (scripts/assets/purge.mjs) and still has them all."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

from flask import url_for

ROOT = Path(__file__).resolve().parents[2]
KERN = ROOT / "static" / "vendor" / "kern"
# what scripts/assets/purge.mjs reads (SOURCES there)
SOURCES = ("templates/**/*.html", "templates/**/*.txt", "static/js/**/*.js",
           "citizen_portal/**/*.py", "polls/**/*.py", "staff_calendar/**/*.py")


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
    assert re.search(r'href="/static/vendor/kern/kern\.pages\.[0-9a-f]{12}\.css"', page)
    assert "kern.min." not in page and "fira-sans.css" not in page  # the whole KERN stylesheet is not loaded
    assert '<meta name="description" content="' in page
    # the fonts the stylesheet names relatively are preloaded under that same (unversioned) URL
    assert 'href="/static/vendor/kern/fonts/fira-sans/FiraSans-Regular.latin.woff2" as="font"' in page
    stylesheet = (KERN / "kern.pages.css").read_text()
    for face in re.findall(r'href="/static/vendor/kern/(fonts/fira-sans/[^"]+)" as="font"', page):
        assert f'url("./{face}")' in stylesheet and (KERN / face).stat().st_size < 40_000, face


def _class_selectors(css: str) -> set[str]:
    return set(re.findall(r"\.(kern-[A-Za-z0-9_-]+)", css))


def test_cut_stylesheet_keeps_every_kern_class_the_sources_name():
    full, cut = (KERN / "kern.min.css").read_text(), (KERN / "kern.pages.css").read_text()
    named = {token for pattern in SOURCES for path in ROOT.glob(pattern)
             for token in re.findall(r"kern-[A-Za-z0-9_-]*[A-Za-z0-9]", path.read_text(errors="ignore"))}
    # the classes of every KERN selector all of whose classes the sources name
    styled = {name for selector in re.findall(r"(?:^|[{}])([^{}@]+)\{", full) for part in selector.split(",")
              if (classes := _class_selectors(part)) and classes <= named for name in classes}
    assert {"kern-btn", "kern-alert", "kern-form-input__input", "kern-heading-x-large"} <= styled
    missing = styled - _class_selectors(cut)
    assert not missing, f"static/vendor/kern/kern.pages.css lacks {sorted(missing)}: run `make assets`"
    # classes the templates compose at render time (SAFELIST in purge.mjs) and never-named ones
    assert {"kern-btn--primary", "kern-alert--danger", "kern-badge--success"} <= _class_selectors(cut)
    assert "kern-accordion" not in _class_selectors(cut) and len(cut) < len(full) / 2
    # KERN's theme rule gives <body> the contextual colour tokens; every token read is defined
    assert ":is(body," in cut
    defined = set(re.findall(r"(--[\w-]+)\s*:", cut))
    undefined_in_kern = set(re.findall(r"var\((--[\w-]+)", full)) - set(re.findall(r"(--[\w-]+)\s*:", full))
    assert set(re.findall(r"var\((--[\w-]+)", cut)) - defined <= undefined_in_kern


def test_old_or_missing_fingerprints_and_escapes(client):
    old = client.get("/static/css/site.000000000000.css")
    assert old.status_code == 200 and old.headers["Cache-Control"] == "no-cache"
    unversioned = client.get("/static/css/site.css")
    assert unversioned.status_code == 200 and unversioned.headers["Cache-Control"] == "public, max-age=86400"
    assert client.get("/static/css/nope.css").status_code == 404
    assert client.get("/static/../pyproject.toml").status_code == 404
    assert client.get("/static/%2e%2e/pyproject.toml").status_code == 404

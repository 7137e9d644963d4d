"""The typed input layer (``citizen_portal.core.schemas``): what every form and API call goes through."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from flask_babel import force_locale
from pydantic import Field
from werkzeug.datastructures import MultiDict

from citizen_portal.core.errors import Invalid
from citizen_portal.core.i18n import _l
from citizen_portal.core.schemas import (
    Day,
    Email,
    Flag,
    Id,
    Moment,
    MultiLine,
    Schema,
    SingleLine,
    WholeNumber,
    message,
    parse_form,
    parse_json,
)


class Sample(Schema):
    name: SingleLine[20] = Field(json_schema_extra=message(_l("Bitte geben Sie Ihren Namen an.")))
    email: Email
    note: MultiLine[50] | None = None
    day: Day | None = None
    start: Moment | None = None
    count: WholeNumber | None = None
    ident: Id | None = None
    consent: Flag = False
    tags: list[str] = []


def fields_of(callable_, *args) -> dict[str, str]:
    with pytest.raises(Invalid) as caught:
        callable_(*args)
    return {key: str(value) for key, value in caught.value.fields.items()}


BASE = {"name": "Erika", "email": "erika@example.org"}


def test_a_valid_body_gives_typed_values(app):
    with app.test_request_context():
        value = parse_json(Sample, {**BASE, "note": "eins\r\nzwei", "day": "2026-12-31",
                                    "start": "2026-03-29T03:00:00+02:00", "count": "7", "consent": True,
                                    "tags": ["a"]})
    assert value.note == "eins\nzwei" and value.day == date(2026, 12, 31) and value.count == 7
    assert isinstance(value.start, datetime) and value.start.utcoffset().total_seconds() == 7200


@pytest.mark.parametrize("body,field,expected", [
    ({"name": ""}, "name", "Bitte geben Sie Ihren Namen an."),
    ({"name": "x" * 21}, "name", "Bitte geben Sie Ihren Namen an."),
    ({"name": "Erika\nMustermann"}, "name", "Bitte ohne Zeilenumbruch angeben."),
    ({"note": "a\x00b"}, "note", "Der Text enthält unzulässige Steuerzeichen."),
    ({"note": "x" * 51}, "note", "Höchstens 50 Zeichen."),
    ({"email": "a,b@example.org"}, "email",
     "Bitte geben Sie genau eine E-Mail-Adresse ohne Namen, Kommentare oder Anführungszeichen an."),
    ({"email": "erika@example.org\r\nBcc: x@y.z"}, "email", "Bitte ohne Zeilenumbruch angeben."),
    ({"day": "2026-02-30"}, "day", "Dieses Datum gibt es nicht."),
    ({"day": "9999-12-31"}, "day", "Bitte ein Datum zwischen 1900 und 2200 angeben."),
    ({"day": "31.12.2026"}, "day", "Bitte ein Datum im Format JJJJ-MM-TT angeben."),
    ({"start": "9999-12-31T23:59:59+00:00"}, "start", "Bitte eine Zeit zwischen 1900 und 2200 angeben."),
    ({"start": "0001-01-01T00:00:00+14:00"}, "start", "Bitte eine Zeit zwischen 1900 und 2200 angeben."),
    ({"start": "2026-03-29T09:00:00"}, "start", "Bitte eine Zeit nach RFC 3339 mit Zeitzone angeben."),
    ({"count": "²"}, "count", "Bitte eine ganze Zahl angeben."),
    ({"count": "①"}, "count", "Bitte eine ganze Zahl angeben."),
    ({"count": True}, "count", "Bitte eine ganze Zahl angeben."),
    ({"ident": str(2**63)}, "ident", "Dieser Wert liegt außerhalb des erlaubten Bereichs."),
    ({"ident": 2**63}, "ident", "Dieser Wert liegt außerhalb des erlaubten Bereichs."),
    ({"consent": "vielleicht"}, "consent", "Bitte true oder false angeben."),
    ({"surprise": 1}, "surprise", "Unbekanntes Feld."),
])
def test_bad_values_name_the_field_with_a_translated_message(app, body, field, expected):
    with app.test_request_context():
        fields = fields_of(parse_json, Sample, {**BASE, **body})
    assert fields[field] == expected


def test_missing_fields_and_non_objects(app):
    with app.test_request_context():
        assert fields_of(parse_json, Sample, {"email": "a@b.de"}) == {"name": "Bitte geben Sie Ihren Namen an."}
        with pytest.raises(Invalid):
            parse_json(Sample, ["not", "an", "object"])


def test_messages_follow_the_language(app):
    with app.test_request_context(), force_locale("en"):
        fields = fields_of(parse_json, Sample, {**BASE, "surprise": 1, "count": "x"})
    assert fields == {"surprise": "Unknown field.", "count": "Please enter a whole number."}


def test_a_form_leaves_empty_fields_out_and_reads_lists(app):
    form = MultiDict([("name", " Erika "), ("email", "erika@example.org"), ("note", ""), ("consent", "on"),
                      ("tags", "a"), ("tags", "b"), ("csrf_token", "x")])
    with app.test_request_context():
        value = parse_form(Sample, form)
    assert (value.name, value.note, value.consent, value.tags) == ("Erika", None, True, ["a", "b"])


def test_models_give_a_json_schema_with_the_messages_in_the_current_language(app):
    with app.test_request_context(), force_locale("en"):
        schema = Sample.model_json_schema()
    assert schema["properties"]["name"]["x-message"] == "Please enter your name."
    assert schema["properties"]["email"]["format"] == "email"
    assert schema["additionalProperties"] is False

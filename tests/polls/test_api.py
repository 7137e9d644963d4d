"""JSON API (issue 6 item 7) over the same services."""

from __future__ import annotations

from tests.polls.factories import answers, close, codes_for, make_poll


def test_list_and_detail(client, app):
    open_poll = make_poll()
    closed = make_poll()
    close(closed)
    make_poll(published=False)
    body = client.get("/api/v1/polls").json
    assert {p["id"] for p in body["polls"]} == {open_poll.id, closed.id}
    detail = client.get(f"/api/v1/polls/{open_poll.id}").json
    assert [q["kind"] for q in detail["questions"]] == ["single", "multiple", "rating", "text"]
    assert detail["questions"][1]["max_choices"] == 2


def test_ballot_receipt_conflicts_and_results(client, app):
    poll = make_poll()
    [code] = codes_for(poll, 1)
    response = client.post(f"/api/v1/polls/{poll.id}/ballots", json={"code": code, "answers": answers(poll)})
    assert response.status_code == 201 and len(response.json["receipt"]) == 19
    used = client.post(f"/api/v1/polls/{poll.id}/ballots", json={"code": code, "answers": answers(poll)})
    assert used.status_code == 409 and used.json["error"] == "already_voted"
    results = client.get(f"/api/v1/polls/{poll.id}/results").json
    assert results["ballots"] == 1
    assert results["questions"][0]["options"][0]["votes"] == 1
    assert results["questions"][2]["average"] == 4.0
    close(poll)
    closed = client.post(f"/api/v1/polls/{poll.id}/ballots", json={"code": code, "answers": answers(poll)})
    assert closed.status_code == 409 and closed.json["error"] == "poll_closed"


def test_bad_input_is_4xx_json_with_translated_message(client, app):
    poll = make_poll()
    [code] = codes_for(poll, 1)
    url = f"/api/v1/polls/{poll.id}/ballots"
    assert client.post(url, data="nope", content_type="application/json").status_code == 400
    assert client.post(url, json=[1, 2]).status_code == 400
    assert client.post(url, json={"code": 5, "answers": {}}).status_code == 400
    response = client.post(url, json={"code": code, "answers": {str(poll.questions[0].id): "x"}})
    assert response.status_code == 400 and f"q{poll.questions[0].id}" in response.json["fields"]
    assert response.json["detail"] == "Bitte prüfen Sie Ihre Eingaben."
    english = client.post(url, json={"code": code, "answers": {}}, headers={"Accept-Language": "en"})
    assert english.status_code == 400 and english.json["detail"] != "Bitte prüfen Sie Ihre Eingaben."
    assert client.post("/api/v1/polls/999999/ballots", json={"answers": {}}).status_code == 404


def test_results_hidden_until_close(client, app):
    poll = make_poll(visibility="after_close")
    response = client.get(f"/api/v1/polls/{poll.id}/results")
    assert response.status_code == 404 and response.json["error"] == "results_hidden"
    close(poll)
    assert client.get(f"/api/v1/polls/{poll.id}/results").status_code == 200


def test_suggestions_api(client, app, smtp_sink):
    response = client.post("/api/v1/suggestions", json={"title": "Mehr Bänke", "text": "Im Park",
                                                        "email": "dora@example.org"})
    assert response.status_code == 202
    smtp_sink.wait_for(1)
    assert client.get("/api/v1/suggestions").json == {"suggestions": []}  # not yet moderated
    bad = client.post("/api/v1/suggestions", json={"title": "", "text": "x", "email": "no"})
    assert bad.status_code == 400 and set(bad.json["fields"]) == {"title", "email"}

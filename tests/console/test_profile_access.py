"""Customer profiles open only through a call offered to the agent or a logged search."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from console.worker_feed import EventRouter
from store.models import (
    Agent,
    Call,
    Customer,
    CustomerSearch,
    ProfileGrant,
    ProfileOpening,
    utcnow,
)
from tests.console.conftest import Deployment, sign_in


def ids(deployment: Deployment) -> dict[str, int]:
    with deployment.db.session() as session:
        people = dict(session.execute(select(Agent.username, Agent.id)).all())
        customers = dict(session.execute(select(Customer.name, Customer.id)).all())
    return {**people, **customers}


def offer(deployment: Deployment, agent_id: int, customer_id: int) -> str:
    """What the console does with a worker's ``agent.ringing`` (the screen pop)."""
    call_id = str(uuid.uuid4())
    router = EventRouter(deployment.db, deployment.app.extensions["centralino.hub"])
    event = {"type": "agent.ringing", "call_id": call_id, "agent_id": agent_id}
    router.handle({**event, "customer_id": customer_id}, "w1", "http://127.0.0.1:9")
    return call_id


def signed_in(deployment: Deployment, username: str) -> tuple[Any, dict[str, str]]:
    client = deployment.app.test_client()
    return client, {"X-CSRFToken": sign_in(client, deployment, username)}


def openings(deployment: Deployment) -> list[tuple[int, int, str, str | None, int | None]]:
    with deployment.db.session() as session:
        rows = session.execute(
            select(
                ProfileOpening.agent_id,
                ProfileOpening.customer_id,
                ProfileOpening.via,
                ProfileOpening.call_id,
                ProfileOpening.search_id,
            ).order_by(ProfileOpening.id)
        ).all()
    return [tuple(row) for row in rows]


def test_sequential_ids_are_refused_on_page_and_api(deployment: Deployment) -> None:
    known = ids(deployment)
    client, _ = signed_in(deployment, "bruno")
    for customer_id in range(1, 6):  # existing and missing ids answer alike: no oracle
        page = client.get(f"/agent/customers/{customer_id}")
        assert page.status_code == 403, customer_id
        assert known["Giulia Ferri"] != customer_id or "Giulia" not in page.text
        api = client.get(f"/agent/api/customers/{customer_id}")
        assert api.status_code == 403 and "search" in api.json["error"]
    assert openings(deployment) == []


def test_an_offered_call_opens_the_profile_in_every_console(deployment: Deployment) -> None:
    known = ids(deployment)
    call_id = offer(deployment, known["bruno"], known["Giulia Ferri"])
    client, _ = signed_in(deployment, "bruno")
    page = client.get(f"/agent/customers/{known['Giulia Ferri']}")
    assert page.status_code == 200 and "Giulia Ferri" in page.text
    assert "Offered to you on a call" in page.text
    other = client.get(f"/agent/customers/{known['Tom Baker']}")
    assert other.status_code == 403
    # The grant is in the database: another console process on it lets Bruno in too.
    from tests.console.conftest import console_app

    second = console_app(deployment.db)
    try:
        again = second.test_client()
        sign_in(again, deployment, "bruno")
        api = again.get(f"/agent/api/customers/{known['Giulia Ferri']}")
        assert api.status_code == 200 and api.json["customer"]["name"] == "Giulia Ferri"
        assert api.json["opened_via"] == "offered"
    finally:
        second.extensions["centralino.db"].dispose()
    assert [row[:4] for row in openings(deployment)] == [
        (known["bruno"], known["Giulia Ferri"], "offered", call_id),
        (known["bruno"], known["Giulia Ferri"], "offered", call_id),
    ]
    # Alice was not offered that call.
    alice, _ = signed_in(deployment, "alice")
    assert alice.get(f"/agent/customers/{known['Giulia Ferri']}").status_code == 403


def test_a_call_the_agent_was_on_opens_the_profile(deployment: Deployment) -> None:
    known = ids(deployment)
    with deployment.db.session() as session:  # the worker's CDR, written without the console
        session.add(
            Call(
                id="cdr-1",
                caller="+441632960000",
                dialled="800",
                agent_id=known["bruno"],
                customer_id=known["Tom Baker"],
                ended_at=utcnow(),
            )
        )
    client, _ = signed_in(deployment, "bruno")
    api = client.get(f"/agent/api/customers/{known['Tom Baker']}")
    assert api.status_code == 200 and api.json["opened_via"] == "call"


def test_linking_the_caller_to_an_account_grants_that_profile(deployment: Deployment) -> None:
    known = ids(deployment)
    call_id = offer(deployment, known["bruno"], known["Giulia Ferri"])
    client, headers = signed_in(deployment, "bruno")
    linked = client.post(
        "/agent/api/customers/link",
        json={"call_id": call_id, "account_number": "100200301"},
        headers=headers,
    )
    assert linked.status_code == 200 and linked.json["customer"]["name"] == "Min-jun Park"
    with deployment.db.session() as session:
        vias = session.scalars(
            select(ProfileGrant.via).where(ProfileGrant.customer_id == known["Min-jun Park"])
        ).all()
    assert vias == ["linked"]
    assert client.get(f"/agent/customers/{known['Min-jun Park']}").status_code == 200


def test_a_logged_search_opens_what_it_found(deployment: Deployment) -> None:
    known = ids(deployment)
    client, headers = signed_in(deployment, "bruno")
    found = client.post(
        "/agent/api/customers/search", json={"field": "name", "q": "ferri"}, headers=headers
    )
    assert found.status_code == 201
    search = found.json["search"]
    assert [row["name"] for row in search["results"]] == ["Giulia Ferri"]
    assert search["results"][0]["phone_hint"] == "…5678"
    assert "email" not in search["results"][0]  # the list identifies; the profile tells
    giulia, tom = known["Giulia Ferri"], known["Tom Baker"]
    opened = client.get(f"/agent/api/customers/{giulia}?search={search['id']}")
    assert opened.status_code == 200 and opened.json["opened_via"] == "search"
    # The search opens only what it found, and only for whoever searched.
    assert client.get(f"/agent/api/customers/{tom}?search={search['id']}").status_code == 403
    alice, _ = signed_in(deployment, "alice")
    assert alice.get(f"/agent/api/customers/{giulia}?search={search['id']}").status_code == 403
    with deployment.db.session() as session:
        logged = session.get(CustomerSearch, search["id"])
        assert (logged.agent_id, logged.field, logged.query) == (known["bruno"], "name", "ferri")
        assert logged.result_ids == [giulia] and logged.at is not None
    assert openings(deployment) == [(known["bruno"], giulia, "search", None, search["id"])]


def test_a_search_expires(deployment: Deployment) -> None:
    client, headers = signed_in(deployment, "bruno")
    search = client.post(
        "/agent/api/customers/search", json={"q": "100200302"}, headers=headers
    ).json["search"]
    assert [row["name"] for row in search["results"]] == ["Tom Baker"]
    with deployment.db.session() as session:
        session.execute(
            update(CustomerSearch)
            .where(CustomerSearch.id == search["id"])
            .values(at=utcnow() - timedelta(minutes=31))
        )
    customer_id = search["results"][0]["id"]
    assert client.get(f"/agent/customers/{customer_id}?search={search['id']}").status_code == 403


@pytest.mark.parametrize(
    ("field", "text", "names"),
    [
        ("any", "Park", ["Min-jun Park"]),
        ("any", "100200399", ["Tom Baker"]),  # Tom's second account
        ("any", "+44 1632 960000", ["Tom Baker"]),  # a phone as people type it
        ("phone", "12345678", ["Giulia Ferri", "Min-jun Park"]),  # the end of two numbers
        ("account", "100200300", ["Giulia Ferri"]),
        ("name", "%%%", []),  # wildcards are text, not patterns
        ("name", "a_b", []),
        ("account", "1002003", []),  # account numbers match whole
    ],
)
def test_search_by_name_account_or_phone(
    deployment: Deployment, field: str, text: str, names: list[str]
) -> None:
    client, headers = signed_in(deployment, "bruno")
    answer = client.post(
        "/agent/api/customers/search", json={"field": field, "q": text}, headers=headers
    )
    assert answer.status_code == 201, answer.json
    assert [row["name"] for row in answer.json["search"]["results"]] == names


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"field": "name", "q": "ab"}, "at least 3 letters"),
        ({"field": "phone", "q": "1234"}, "at least 6 digits"),
        ({"field": "email", "q": "x@y"}, "search by name, account number or phone"),
        ({"field": "account", "q": "1' OR '1'='1"}, "letters, digits and dashes"),
        ({"q": ["list"]}, "as text"),
    ],
)
def test_unusable_searches_are_refused_and_not_run(
    deployment: Deployment, body: dict[str, Any], message: str
) -> None:
    client, headers = signed_in(deployment, "bruno")
    answer = client.post("/agent/api/customers/search", json=body, headers=headers)
    assert answer.status_code == 400 and message in answer.json["error"]
    with deployment.db.session() as session:
        assert session.scalar(select(CustomerSearch.id)) is None


def test_searches_per_hour_are_limited(deployment: Deployment) -> None:
    deployment.app.config["PROFILE_SEARCHES_PER_HOUR"] = 3
    client, headers = signed_in(deployment, "bruno")
    statuses = [
        client.post(
            "/agent/api/customers/search", json={"q": "Giulia"}, headers=headers
        ).status_code
        for _ in range(4)
    ]
    assert statuses == [201, 201, 201, 429]


def test_supervisor_opens_live_calls_on_the_floor_and_it_is_logged(
    deployment: Deployment,
) -> None:
    known = ids(deployment)
    call_id = offer(deployment, known["alice"], known["Min-jun Park"])
    sara, _ = signed_in(deployment, "sara")
    page = sara.get(f"/agent/customers/{known['Min-jun Park']}")
    assert page.status_code == 200 and "From a live call on the floor" in page.text
    assert sara.get(f"/agent/customers/{known['Tom Baker']}").status_code == 403
    assert openings(deployment) == [
        (known["sara"], known["Min-jun Park"], "floor", call_id, None)
    ]
    # An agent does not get the floor: only their own calls.
    bruno, _ = signed_in(deployment, "bruno")
    assert bruno.get(f"/agent/customers/{known['Min-jun Park']}").status_code == 403


def test_admins_open_no_profiles(deployment: Deployment) -> None:
    known = ids(deployment)
    offer(deployment, known["admin"], known["Giulia Ferri"])
    client, headers = signed_in(deployment, "admin")
    assert client.get(f"/agent/api/customers/{known['Giulia Ferri']}").status_code == 403
    assert (
        client.post("/agent/api/customers/search", json={"q": "Giulia"}, headers=headers)
    ).status_code == 403


def test_search_page_lists_and_opens_through_the_log(deployment: Deployment) -> None:
    known = ids(deployment)
    client, headers = signed_in(deployment, "bruno")
    form = client.get("/agent/search")
    assert form.status_code == 200 and 'name="q"' in form.text
    token = headers["X-CSRFToken"]
    posted = client.post("/agent/search", data={"field": "any", "q": "Baker", "csrf_token": token})
    assert posted.status_code == 302
    results = client.get(posted.location)
    assert "Tom Baker" in results.text and "100200302, 100200399" in results.text
    with deployment.db.session() as session:
        search_id = session.scalar(select(CustomerSearch.id))
    link = f"/agent/customers/{known['Tom Baker']}?search={search_id}"
    assert link in results.text
    assert "Opened from your search" in client.get(link).text
    alice, _ = signed_in(deployment, "alice")
    assert alice.get(posted.location).status_code == 404  # someone else's search
    refused = client.post("/agent/search", data={"q": "ab", "csrf_token": token})
    assert refused.status_code == 400 and "at least 3 letters" in refused.text

"""Trunk priority through the API and the page: validated per field, lists in the order
outbound calls try the trunks, audited with before and after."""

from __future__ import annotations

from store.models import Trunk
from tests.console.admin.test_admin_api import bearer, make_token
from tests.console.conftest import Deployment, csrf_token, sign_in


def _trunk(name: str, priority: int | None = None) -> dict[str, object]:
    body: dict[str, object] = {"name": name, "registrar": "192.0.2.10", "username": name,
                               "secret": "s3cret", "realm": "carrier.example"}
    if priority is not None:
        body["priority"] = priority
    return body


def test_priority_orders_the_trunks_and_is_audited(deployment: Deployment) -> None:
    client = deployment.app.test_client()
    headers = bearer(make_token(deployment))
    first = client.post("/api/admin/trunks/", headers=headers, json=_trunk("zeta", 1))
    default = client.post("/api/admin/trunks/", headers=headers, json=_trunk("alpha"))
    assert first.status_code == default.status_code == 201, (first.text, default.text)
    assert default.json["priority"] == 10
    listed = client.get("/api/admin/trunks/", headers=headers).json
    assert [t["name"] for t in listed] == ["zeta", "alpha"]  # by priority, not by name

    bad = client.patch(f"/api/admin/trunks/{first.json['id']}", headers=headers,
                       json={"priority": "first"})
    assert bad.status_code == 422 and bad.json["fields"] == {"priority": "a whole number"}
    out_of_range = client.patch(f"/api/admin/trunks/{first.json['id']}", headers=headers,
                                json={"priority": 1000})
    assert out_of_range.json["fields"] == {"priority": "between 0 and 999"}

    moved = client.patch(f"/api/admin/trunks/{first.json['id']}", headers=headers,
                         json={"priority": 50})
    assert moved.status_code == 200 and moved.json["priority"] == 50
    listed = client.get("/api/admin/trunks/", headers=headers).json
    assert [t["name"] for t in listed] == ["alpha", "zeta"]
    entry = client.get("/api/admin/audit/?kind=trunk", headers=headers).json[0]
    assert entry["action"] == "trunk.update"
    assert (entry["before"]["priority"], entry["after"]["priority"]) == (1, 50)
    assert "s3cret" not in str(entry)


def test_the_trunk_page_edits_the_priority_with_the_error_next_to_it(
    deployment: Deployment,
) -> None:
    page = deployment.app.test_client()
    token = sign_in(page, deployment, "admin")
    made = page.post("/admin/trunks/", data={**_trunk("carrier"), "registration": "1",
                                             "priority": "7", "csrf_token": token})
    assert made.status_code == 302, made.text
    with deployment.db.session() as session:
        trunk = session.query(Trunk).filter_by(name="carrier").one()
        assert trunk.priority == 7
        trunk_id = trunk.id
    form = page.get(f"/admin/trunks/{trunk_id}").text
    assert 'name="priority"' in form and 'value="7"' in form
    refused = page.post(f"/admin/trunks/{trunk_id}", data={
        "name": "carrier", "registrar": "192.0.2.10", "username": "carrier",
        "realm": "carrier.example", "priority": "-3", "csrf_token": csrf_token(form)})
    assert refused.status_code == 422
    assert 'data-field-error="priority">between 0 and 999<' in refused.text
    listing = page.get("/admin/trunks/").text
    assert '<td class="priority">7</td>' in listing

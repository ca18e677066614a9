"""An admin's edit of a desk phone (fields or credentials, page or API) bumps its provisioning
version and queues a check-sync, so the phone fetches its new file; a softphone has no file."""

from __future__ import annotations

from sqlalchemy import select

from store.hardware_tables import DeviceProvisioning, PhoneCommand
from tests.console.admin.test_admin_api import bearer, make_token
from tests.console.conftest import Deployment


def test_desk_phone_edits_queue_a_check_sync(deployment: Deployment) -> None:
    client = deployment.app.test_client()
    headers = bearer(make_token(deployment))
    made = client.post("/api/admin/devices/", headers=headers,
                       json={"extension": "3301", "kind": "desk_phone", "label": "Desk"})
    assert made.status_code == 201, made.text
    soft = client.post("/api/admin/devices/", headers=headers,
                       json={"extension": "3302", "kind": "softphone"}).json
    device_id = made.json["id"]
    with deployment.db.session() as session:
        session.add(DeviceProvisioning(device_id=device_id, vendor="yealink"))
    assert client.patch(f"/api/admin/devices/{device_id}", headers=headers,
                        json={"label": "Front desk"}).status_code == 200
    assert client.post(f"/api/admin/devices/{device_id}/credentials",
                       headers=headers).status_code == 200
    assert client.patch(f"/api/admin/devices/{soft['id']}", headers=headers,
                        json={"label": "Laptop"}).status_code == 200
    with deployment.db.session() as session:
        provisioning = session.get(DeviceProvisioning, device_id)
        assert provisioning is not None and provisioning.config_version == 3  # 1, then two edits
        kinds = session.scalars(select(PhoneCommand.kind)
                                .where(PhoneCommand.device_id == device_id)).all()
        assert kinds == ["check-sync", "check-sync"]
        assert not session.scalars(select(PhoneCommand)
                                   .where(PhoneCommand.device_id == soft["id"])).all()

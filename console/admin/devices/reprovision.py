"""After an admin changed a desk phone (its fields or its credentials) and the change is
committed: bump its provisioning version and queue a check-sync, so the phone fetches its new
file (`store.desk_phones.config_changed`). Headsets and softphones have no file: nothing."""

from __future__ import annotations

from console.extensions import database
from store.desk_phones import DeskPhoneError, config_changed


def reprovision(device_id: int) -> int | None:
    """The phone's new config version, or None when it is not a provisioned desk phone."""
    try:
        return config_changed(database(), device_id)
    except DeskPhoneError:
        return None

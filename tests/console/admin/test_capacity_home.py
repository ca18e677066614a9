"""The admin home shows each worker's load out of its capacity and flags a stale heartbeat."""

from __future__ import annotations

from datetime import timedelta

from store.models import Worker, utcnow
from tests.console.conftest import Deployment, sign_in


def test_the_admin_home_flags_a_stale_worker_and_counts_only_fresh_room(
    deployment: Deployment,
) -> None:
    with deployment.db.session() as session:
        session.add_all([
            Worker(name="switch-1", host="127.0.0.1", pid=1, sip_port=5081,
                   api_url="http://127.0.0.1:8791", capacity=4, load=3, alive=True,
                   heartbeat_at=utcnow()),
            Worker(name="switch-2", host="127.0.0.1", pid=2, sip_port=5082,
                   api_url="http://127.0.0.1:8792", capacity=4, load=1, alive=True,
                   heartbeat_at=utcnow() - timedelta(minutes=5)),
        ])
    client = deployment.app.test_client()
    sign_in(client, deployment, "admin")
    page = client.get("/admin/").text
    assert "3 of 4 call legs in use on the fresh workers, 1 free." in page
    assert 'id="stale-workers">1 stale: switch-2<' in page
    row = page[page.index('data-worker="switch-2"'):]
    assert "stale heartbeat" in row[:row.index("</tr>")]
    assert "3/4 <small" in page
    supervisor = deployment.app.test_client()
    sign_in(supervisor, deployment, "sara")
    assert supervisor.get("/admin/").status_code == 403

"""A real worker's control API refuses strangers: no token 401, foreign Host 421, non-JSON 415;
it listens on the control address (loopback), not on the address phones reach."""

from __future__ import annotations

import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from store.tokens import bearer_header
from telephony.testing.deployment import Deployment
from telephony.testing.ports import free_port
from telephony.testing.workers import WorkerProcess

pytestmark = pytest.mark.e2e

# pjsua binds SIP here (loopback too on Linux): the control API must not follow it.
SIP_ADDRESS = "127.0.0.3"


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    setup = Deployment(tmp_path_factory.mktemp("api-security"))
    yield setup
    setup.close()


@pytest.fixture(scope="module")
def worker(deployment: Deployment) -> WorkerProcess:
    return deployment.worker(1, deployment.config(edge=(SIP_ADDRESS, free_port())))


def get(worker: WorkerProcess, path: str, **headers: str) -> requests.Response:
    return requests.get(worker.url + path, headers=headers, timeout=5)


def test_every_route_wants_the_deployment_token(worker: WorkerProcess) -> None:
    for path in ("/health", "/calls", "/events"):
        bare = get(worker, path)
        assert bare.status_code == 401, path
        assert bare.headers["WWW-Authenticate"].startswith("Bearer")
        assert "Authorization: Bearer" in bare.json()["error"]
        wrong = get(worker, path, Authorization="Bearer " + "x" * 43)
        assert wrong.status_code == 401, path
        assert 'error="invalid_token"' in wrong.headers["WWW-Authenticate"]
    basic = get(worker, "/health", Authorization=f"Basic {worker.token}")
    assert basic.status_code == 401
    refused = requests.post(worker.url + "/calls", json={"to": "sip:1@127.0.0.1:9"}, timeout=5)
    assert refused.status_code == 401
    assert get(worker, "/health", **bearer_header(worker.token)).json()["worker"] == worker.name


def test_a_host_that_is_not_ours_is_misdirected(worker: WorkerProcess) -> None:
    token = bearer_header(worker.token)
    rebound = get(worker, "/calls", Host=f"attacker.example:{worker.api_port}", **token)
    assert rebound.status_code == 421
    assert get(worker, "/events", Host="attacker.example", **token).status_code == 421
    for host in (f"127.0.0.1:{worker.api_port}", f"localhost:{worker.api_port}"):
        assert get(worker, "/health", Host=host, **token).status_code == 200, host


def test_only_json_bodies_are_taken(worker: WorkerProcess, deployment: Deployment) -> None:
    headers = bearer_header(worker.token)
    for content_type, body in (
        ("text/plain", '{"to": "sip:victim@127.0.0.1:9"}'),
        ("application/x-www-form-urlencoded", "to=sip%3Avictim%40127.0.0.1%3A9"),
        ("multipart/form-data; boundary=x", '--x\r\nContent-Disposition: form-data; name="to"'),
    ):
        response = requests.post(
            worker.url + "/calls",
            data=body,
            headers={**headers, "Content-Type": content_type},
            timeout=5,
        )
        assert response.status_code == 415, content_type
    bad_json = requests.post(
        worker.url + "/calls",
        data="{not json",
        headers={**headers, "Content-Type": "application/json"},
        timeout=5,
    )
    assert bad_json.status_code == 400
    assert worker.get("/calls") == [] and deployment.calls() == []  # nothing was originated


def test_the_api_listens_on_the_control_address_not_the_sip_address(
    worker: WorkerProcess, deployment: Deployment
) -> None:
    with socket.socket() as probe:
        assert probe.connect_ex((SIP_ADDRESS, worker.api_port)) != 0
    row = deployment.worker_row(worker.name)
    assert row.host == SIP_ADDRESS and row.api_url == f"http://127.0.0.1:{worker.api_port}"
    token_file = deployment.root / "deployment-token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert token_file.read_text().strip() == worker.token
    assert worker.token not in worker.log()


def test_a_wildcard_control_address_needs_named_hosts(tmp_path: Path) -> None:
    from store.settings import Settings
    from telephony.api_guard import advertised_host, advertised_url, control_names

    with pytest.raises(ValueError, match="control_hosts"):
        advertised_host(Settings(var_dir=tmp_path, control_address="0.0.0.0"))
    spread = Settings(var_dir=tmp_path, control_address="0.0.0.0", control_hosts=["10.0.0.5"])
    assert advertised_host(spread) == "10.0.0.5"
    assert control_names(spread) == ["10.0.0.5"]
    assert control_names(Settings(var_dir=tmp_path)) == ["127.0.0.1", "localhost"]
    assert advertised_url(Settings(var_dir=tmp_path), 8791) == "http://127.0.0.1:8791"
    proxied = Settings(var_dir=tmp_path, control_url="https://w1.example.lan:{port}/")
    assert advertised_url(proxied, 9791) == "https://w1.example.lan:9791"
    with pytest.raises(ValueError, match="https://"):
        advertised_url(Settings(var_dir=tmp_path, control_url="w1:{port}"), 1)

"""Deployment settings: one TOML file plus ``CENTRALINO_*`` environment overrides.

Every process (edge, switch workers, console, speech service) reads the same `Settings`, so a
single file describes a deployment. Defaults serve one machine with SQLite under ``var/``.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Settings:
    var_dir: Path = PROJECT_ROOT / "var"
    database_url: str = ""
    sip_address: str = "127.0.0.1"
    sip_port: int = 5060
    sip_domain: str = "centralino.local"
    # The edge's switch socket (UDP): only switch workers send here, and the edge trusts a
    # request as a worker's because it arrived on it. Keep it off the public network.
    edge_switch_address: str = "127.0.0.1"
    edge_switch_port: int = 5070
    # Where this machine's switch workers bind SIP and RTP and what they register in the
    # dispatcher (the address the edge and phones reach them on); empty: sip_address (one
    # machine). On a switch host of several (docs/deployment.md), that host's own address.
    switch_address: str = ""
    workers: int = 0  # 0: one per agent, as the machine allows (telephony.sizing)
    worker_sip_base_port: int = 5080
    worker_rtp_base_port: int = 20000
    worker_api_base_port: int = 8790
    heartbeat_seconds: float = 1.0
    stale_after_seconds: float = 5.0
    console_address: str = "127.0.0.1"
    console_port: int = 8000
    secret_key: str = ""
    speech_address: str = "127.0.0.1"
    speech_port: int = 2700
    speech_models: dict[str, str] = field(default_factory=dict)
    # where `centralino models` reads the Vosk model catalogue (installed models: var/models/)
    speech_catalogue_url: str = "https://alphacephei.com/vosk/models/model-list.json"
    # The control plane (docs/security-control.md): workers' control APIs listen on
    # control_address (loopback unless a private interface is named); control_hosts are the
    # further names clients may put in the Host header; control_url, when set, is the URL the
    # console uses instead (a TLS proxy's, "{port}" filled in); the deployment token (else the file
    # var/deployment-token) authenticates the console to the workers and the workers to the
    # speech service; speech_limits / speech_origins bound and guard the speech service.
    control_address: str = "127.0.0.1"
    control_hosts: list[str] = field(default_factory=list)
    control_url: str = ""
    deployment_token: str = field(default="", repr=False)
    speech_limits: dict[str, float] = field(default_factory=dict)
    speech_origins: list[str] = field(default_factory=list)
    company_name: str = "Centralino"
    # How long the switch holds a check-sync or reboot for a desk phone that is in a dialog
    # before it gives up with a recorded reason (a lost BYE can keep a dialog open for hours).
    phone_hold_seconds: float = 7200.0
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.var_dir = Path(self.var_dir)
        if not self.database_url:
            self.database_url = f"sqlite:///{self.var_dir / 'centralino.sqlite'}"

    @property
    def worker_address(self) -> str:
        """The address this machine's switch workers bind and advertise (`switch_address`)."""
        return self.switch_address or self.sip_address

    @property
    def sqlite_path(self) -> Path | None:
        prefix = "sqlite:///"
        return (
            Path(self.database_url[len(prefix) :]) if self.database_url.startswith(prefix) else None
        )


def _coerce(current: Any, raw: str) -> Any:
    if isinstance(current, bool):
        return raw.lower() in {"1", "true", "yes", "on"}
    if isinstance(current, int):
        return int(raw)
    if isinstance(current, float):
        return float(raw)
    if isinstance(current, Path):
        return Path(raw)
    if isinstance(current, list):
        return [item.strip() for item in raw.split(",") if item.strip()]
    return raw


def load_settings(path: str | Path | None = None, env: dict[str, str] | None = None) -> Settings:
    """Read the TOML file (``CENTRALINO_CONFIG`` or *path*, optional) then apply env overrides."""
    env = dict(os.environ if env is None else env)
    values: dict[str, Any] = {}
    config_path = path or env.get("CENTRALINO_CONFIG")
    if config_path:
        config_file = Path(config_path)
        if not config_file.is_file():
            raise FileNotFoundError(f"configuration file {config_file} does not exist")
        with config_file.open("rb") as handle:
            values = tomllib.load(handle)
    known = {f.name for f in fields(Settings)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"unknown setting(s) in {config_path}: {', '.join(unknown)}")
    explicit_url = bool(values.get("database_url") or env.get("CENTRALINO_DATABASE_URL"))
    settings = Settings(**values)
    for name in known - {"speech_models", "speech_limits", "extra"}:
        raw = env.get(f"CENTRALINO_{name.upper()}")
        if raw is not None:
            setattr(settings, name, _coerce(getattr(settings, name), raw))
    for key, value in env.items():
        if key.startswith("CENTRALINO_SPEECH_MODEL_"):
            settings.speech_models[key.removeprefix("CENTRALINO_SPEECH_MODEL_").lower()] = value
    if not explicit_url:
        settings.database_url = ""  # derive it from the (possibly overridden) var_dir
    settings.__post_init__()
    return settings

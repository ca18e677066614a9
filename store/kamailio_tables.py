"""Kamailio's own tables (schema of Kamailio 5.6), declared on our metadata.

Kamailio reads and writes these through db_sqlite or db_postgres: ``location`` (usrloc with
write-through, so contacts survive restarts), ``dispatcher`` (the switch workers),
``uacreg`` (our registrations to carriers), ``pua`` (the presence user agent that publishes
the line state of relayed dialogs for busy-lamp fields; migration 0013) and ``version`` (the
schema versions it checks).
Devices authenticate against `store.models.Device` directly (auth_db's column parameters).
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from store.models import Base

metadata = Base.metadata

#: table -> schema version Kamailio 5.6 expects (rows of the ``version`` table).
KAMAILIO_TABLE_VERSIONS = {
    "version": 1,
    "location": 9,
    "location_attrs": 1,
    "dispatcher": 4,
    "uacreg": 5,
    "devices": 7,  # auth_db checks the version of the table it authenticates against
}
#: Tables of later migrations, with the version Kamailio 5.6 expects (0013: BLF).
PRESENCE_TABLE_VERSIONS = {"pua": 7}

version = Table(
    "version",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("table_name", String(32), nullable=False),
    Column("table_version", Integer, nullable=False, server_default="0"),
    UniqueConstraint("table_name", name="version_table_name_idx"),
)

location = Table(
    "location",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ruid", String(64), nullable=False, server_default=""),
    Column("username", String(64), nullable=False, server_default=""),
    Column("domain", String(64)),
    Column("contact", String(512), nullable=False, server_default=""),
    Column("received", String(128)),
    Column("path", String(512)),
    Column("expires", DateTime, nullable=False, server_default="2030-05-28 21:32:15"),
    Column("q", Float, nullable=False, server_default="1.0"),
    Column("callid", String(255), nullable=False, server_default="Default-Call-ID"),
    Column("cseq", Integer, nullable=False, server_default="1"),
    Column("last_modified", DateTime, nullable=False, server_default="2000-01-01 00:00:01"),
    Column("flags", Integer, nullable=False, server_default="0"),
    Column("cflags", Integer, nullable=False, server_default="0"),
    Column("user_agent", String(255), nullable=False, server_default=""),
    Column("socket", String(64)),
    Column("methods", Integer),
    Column("instance", String(255)),
    Column("reg_id", Integer, nullable=False, server_default="0"),
    Column("server_id", Integer, nullable=False, server_default="0"),
    Column("connection_id", Integer, nullable=False, server_default="0"),
    Column("keepalive", Integer, nullable=False, server_default="0"),
    Column("partition", Integer, nullable=False, server_default="0"),
    UniqueConstraint("ruid", name="location_ruid_idx"),
    Index("location_account_contact_idx", "username", "domain", "contact"),
    Index("location_expires_idx", "expires"),
)

location_attrs = Table(
    "location_attrs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ruid", String(64), nullable=False, server_default=""),
    Column("username", String(64), nullable=False, server_default=""),
    Column("domain", String(64)),
    Column("aname", String(64), nullable=False, server_default=""),
    Column("atype", Integer, nullable=False, server_default="0"),
    Column("avalue", String(512), nullable=False, server_default=""),
    Column("last_modified", DateTime, nullable=False, server_default="2000-01-01 00:00:01"),
)

dispatcher = Table(
    "dispatcher",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("setid", Integer, nullable=False, server_default="0"),
    Column("destination", String(192), nullable=False, server_default=""),
    Column("flags", Integer, nullable=False, server_default="0"),
    Column("priority", Integer, nullable=False, server_default="0"),
    Column("attrs", String(128), nullable=False, server_default=""),
    Column("description", String(64), nullable=False, server_default=""),
)

uacreg = Table(
    "uacreg",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("l_uuid", String(64), nullable=False, server_default=""),
    Column("l_username", String(64), nullable=False, server_default=""),
    Column("l_domain", String(64), nullable=False, server_default=""),
    Column("r_username", String(64), nullable=False, server_default=""),
    Column("r_domain", String(64), nullable=False, server_default=""),
    Column("realm", String(64), nullable=False, server_default=""),
    Column("auth_username", String(64), nullable=False, server_default=""),
    Column("auth_password", String(64), nullable=False, server_default=""),
    Column("auth_ha1", String(128), nullable=False, server_default=""),
    Column("auth_proxy", String(255), nullable=False, server_default=""),
    Column("expires", Integer, nullable=False, server_default="0"),
    Column("flags", Integer, nullable=False, server_default="0"),
    Column("reg_delay", Integer, nullable=False, server_default="0"),
    Column("contact_addr", String(255), nullable=False, server_default=""),
    Column("socket", String(128), nullable=False, server_default=""),
    UniqueConstraint("l_uuid", name="uacreg_l_uuid_idx"),
)

# pua keeps its publications in memory (db_mode 0) but checks this table's version at start.
pua = Table(
    "pua",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("pres_uri", String(255), nullable=False),
    Column("pres_id", String(255), nullable=False),
    Column("event", Integer, nullable=False),
    Column("expires", Integer, nullable=False),
    Column("desired_expires", Integer, nullable=False),
    Column("flag", Integer, nullable=False),
    Column("etag", String(128), nullable=False),
    Column("tuple_id", String(64)),
    Column("watcher_uri", String(255), nullable=False),
    Column("call_id", String(255), nullable=False),
    Column("to_tag", String(128), nullable=False),
    Column("from_tag", String(128), nullable=False),
    Column("cseq", Integer, nullable=False),
    Column("record_route", Text),
    Column("contact", String(255), nullable=False),
    Column("remote_contact", String(255), nullable=False),
    Column("version", Integer, nullable=False),
    Column("extra_headers", Text, nullable=False),
    UniqueConstraint("etag", "tuple_id", "call_id", "from_tag", name="pua_pua_idx"),
    Index("pua_expires_idx", "expires"),
    Index("pua_dialog1_idx", "pres_id", "pres_uri"),
    Index("pua_dialog2_idx", "call_id", "from_tag"),
    Index("pua_record_idx", "pres_id"),
)

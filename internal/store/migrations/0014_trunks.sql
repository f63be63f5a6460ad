-- SIP trunks to carriers (sip.TrunkConfig), kept by `widget-server trunks add|remove` and read
-- by the server at start. password is the digest secret the server answers the carrier's
-- challenges with, so it is kept as given; nothing prints or serves it. Lists are JSON arrays,
-- durations milliseconds (0: the default). Trunks are tried in priority order, then by name.
CREATE TABLE trunks (
    name               TEXT PRIMARY KEY,
    host               TEXT NOT NULL,
    transport          TEXT NOT NULL DEFAULT '',
    outbound_proxy     TEXT NOT NULL DEFAULT '',
    username           TEXT NOT NULL DEFAULT '',
    password           TEXT NOT NULL DEFAULT '',
    auth_username      TEXT NOT NULL DEFAULT '',
    realm              TEXT NOT NULL DEFAULT '',
    register           INTEGER NOT NULL DEFAULT 0,
    register_expiry_ms INTEGER NOT NULL DEFAULT 0,
    from_domain        TEXT NOT NULL DEFAULT '',
    caller_id          TEXT NOT NULL DEFAULT '',
    allowed_sources    TEXT NOT NULL DEFAULT '[]',
    keep_alive_ms      INTEGER NOT NULL DEFAULT 0,
    prefixes           TEXT NOT NULL DEFAULT '[]',
    deny_prefixes      TEXT NOT NULL DEFAULT '[]',
    priority           INTEGER NOT NULL DEFAULT 0,
    created_at         TEXT NOT NULL DEFAULT {{.Now}}
);

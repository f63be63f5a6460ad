-- SIP desk phones and softphones of extensions (store.SIPDevice), kept by `widget-server phones
-- add|remove` and read by the registrar on every REGISTER. ha1 is the hex MD5 of
-- username:realm:password (RFC 2617 digest): the password itself is never kept, but ha1 is
-- password-equivalent for that realm, so nothing prints or serves it. A phone goes with its
-- extension.
CREATE TABLE sip_devices (
    id           {{.ID}},
    extension_id INTEGER NOT NULL REFERENCES extensions (id) ON DELETE CASCADE,
    username     TEXT NOT NULL UNIQUE,  -- lower-case [a-z0-9._-], at most 32
    ha1          TEXT NOT NULL,
    realm        TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL DEFAULT {{.Now}}
);
-- the phones of an extension
CREATE INDEX sip_devices_extension ON sip_devices (extension_id);

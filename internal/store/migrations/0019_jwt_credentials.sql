-- Confidential apps: the hash of the client secret (identity.HashClientSecret), '' for a public app.
ALTER TABLE apps ADD COLUMN secret_hash TEXT NOT NULL DEFAULT '';

-- JWT credentials (identity.JWTCredential). The JWT itself is not kept: it names its row by id.
-- Times are RFC 3339 in UTC; '' is none.
CREATE TABLE jwt_credentials (
    id           TEXT PRIMARY KEY,
    account_id   INTEGER NOT NULL,
    extension_id INTEGER NOT NULL REFERENCES extensions (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    created_by   INTEGER NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL DEFAULT '',
    revoked_at   TEXT NOT NULL DEFAULT '',
    last_used_at TEXT NOT NULL DEFAULT ''
);
CREATE INDEX jwt_credentials_extension ON jwt_credentials (extension_id);

-- The token families (fosite request ids) exchanged for a credential, ended when it is revoked.
CREATE TABLE jwt_credential_grants (
    credential_id TEXT NOT NULL REFERENCES jwt_credentials (id) ON DELETE CASCADE,
    request_id    TEXT NOT NULL,
    created_at    TEXT NOT NULL DEFAULT {{.Now}},
    PRIMARY KEY (credential_id, request_id)
);

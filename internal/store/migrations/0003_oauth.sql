-- Authorization server state: authorization codes, PKCE and OpenID Connect
-- requests, access and refresh tokens. Tokens are stored by signature (a hash
-- of the token), never in clear. request_id ties a token family together:
-- every refresh keeps it, so revoking a family is one UPDATE.
CREATE TABLE oauth_requests (
    kind       TEXT NOT NULL,              -- code, pkce, oidc, access, refresh
    signature  TEXT NOT NULL,
    request_id TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    subject    TEXT NOT NULL DEFAULT '',
    active     INTEGER NOT NULL DEFAULT 1,
    expires_at TEXT,                       -- RFC 3339, for purging
    data       TEXT NOT NULL,              -- the request, JSON
    created_at TEXT NOT NULL DEFAULT {{.Now}},
    PRIMARY KEY (kind, signature)
);
CREATE INDEX oauth_requests_family ON oauth_requests (request_id, kind);
CREATE INDEX oauth_requests_expiry ON oauth_requests (expires_at);

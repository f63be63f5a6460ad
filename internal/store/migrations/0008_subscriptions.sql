-- Webhook subscriptions of the platform API (internal/webhooks, docs/api-subscriptions.md).
CREATE TABLE subscriptions (
    {{.RowID}}
    id                 TEXT PRIMARY KEY,  -- UUID
    account_id         INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    owner_id           INTEGER NOT NULL REFERENCES extensions (id) ON DELETE CASCADE,
    event_filters      TEXT NOT NULL,     -- JSON array of filters with ids: "/restapi/v1.0/account/1/extension/1/presence"
    address            TEXT NOT NULL,     -- the receiver's URL
    verification_token TEXT NOT NULL DEFAULT '',
    secret             TEXT NOT NULL,     -- key of the notifications' HMAC-SHA256 signature
    status             TEXT NOT NULL,     -- Active | Suspended | Blacklisted (an expired Active one reads Suspended)
    lifetime           INTEGER NOT NULL,  -- seconds a renewal gives
    created_at         TEXT NOT NULL,     -- fixed-width UTC, so that text order is time order
    expires_at         TEXT NOT NULL
);
-- an account's subscriptions that have not expired long ago: the limit and the list
CREATE INDEX subscriptions_account_expires ON subscriptions (account_id, expires_at);

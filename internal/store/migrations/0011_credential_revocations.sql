-- Ends of an extension's credentials. Disabling an extension or changing its password ends every
-- widget session and token of it in the transaction that makes the change, and appends a row here,
-- so that every server process on this database cuts what it still holds open of that extension
-- (event streams, registered phone devices). Rows are kept a day.
CREATE TABLE credential_revocations (
    seq          {{.Serial}},
    extension_id INTEGER NOT NULL,
    reason       TEXT NOT NULL,  -- disabled | password
    at           TEXT NOT NULL DEFAULT {{.Now}}
);
CREATE INDEX credential_revocations_at ON credential_revocations (at);

-- the tokens of an extension (subject = its id), to revoke them all at once
CREATE INDEX oauth_requests_subject ON oauth_requests (subject, kind);

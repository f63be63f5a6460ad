-- Registered host integrations (identity.App).
CREATE TABLE apps (
    client_id     TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    origins       TEXT NOT NULL,  -- JSON array of canonical origins
    redirect_uris TEXT NOT NULL,  -- JSON array
    features      TEXT NOT NULL,  -- JSON object
    created_at    TEXT NOT NULL DEFAULT {{.Now}},
    updated_at    TEXT NOT NULL DEFAULT {{.Now}}
);

-- Signed-in widget sessions. The token column holds the OAuth tokens sealed
-- with AES-GCM under a key kept outside the database.
CREATE TABLE widget_sessions (
    id           TEXT PRIMARY KEY,
    client_id    TEXT NOT NULL,
    extension_id INTEGER NOT NULL,
    token        {{.Blob}} NOT NULL,
    created_at   TEXT NOT NULL,
    last_seen    TEXT NOT NULL
);
CREATE INDEX widget_sessions_extension ON widget_sessions (extension_id);

-- Secrets the server generates once and every node uses (cookie keys, token keys, the ID-token
-- signing key), by name. Only a PostgreSQL deployment keeps them here; with SQLite they stay files
-- of the data dir. value is the text a data dir's file of that name holds.
CREATE TABLE secrets (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT {{.Now}}
);

-- Accounts and their extensions (identity.Account, identity.Extension).
CREATE TABLE accounts (
    id           {{.ID}},
    company      TEXT NOT NULL,
    main_number  TEXT NOT NULL UNIQUE,  -- E.164
    country_code TEXT NOT NULL,         -- ISO 3166 alpha-2
    area_code    TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL DEFAULT {{.Now}}
);

CREATE TABLE extensions (
    id             {{.ID}},
    account_id     INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    number         TEXT NOT NULL,
    name           TEXT NOT NULL,
    email          TEXT NOT NULL UNIQUE,  -- lower-case
    role           TEXT NOT NULL,         -- user | admin
    status         TEXT NOT NULL,         -- Enabled | Disabled
    direct_numbers TEXT NOT NULL,         -- JSON array of E.164 numbers
    password_hash  TEXT NOT NULL,
    created_at     TEXT NOT NULL DEFAULT {{.Now}},
    updated_at     TEXT NOT NULL DEFAULT {{.Now}},
    UNIQUE (account_id, number)
);

-- The message store (messaging.Message): one row per extension's copy of an SMS or pager
-- message, and the deliveries of sent messages whose status is not final yet.
CREATE TABLE messages (
    id                    {{.Serial}},  -- never reused, so an id names one message for good
    account_id            INTEGER NOT NULL,
    extension_id          INTEGER NOT NULL REFERENCES extensions (id) ON DELETE CASCADE,  -- whose copy
    type                  TEXT NOT NULL,     -- SMS | Pager
    direction             TEXT NOT NULL,     -- Inbound | Outbound
    from_number           TEXT NOT NULL,     -- E.164, or '' for a pager message
    from_ext              TEXT NOT NULL,
    from_name             TEXT NOT NULL,
    recipients            TEXT NOT NULL,     -- JSON array of {phoneNumber, extensionNumber, name}
    subject               TEXT NOT NULL,     -- the text
    creation_time         TEXT NOT NULL,     -- RFC 3339, UTC, fixed millisecond width so it sorts as text
    last_modified_time    TEXT NOT NULL,
    read_status           TEXT NOT NULL,     -- Read | Unread
    message_status        TEXT NOT NULL,     -- Queued | Sent | Delivered | DeliveryFailed | Received
    availability          TEXT NOT NULL,     -- Alive | Deleted
    conversation_id       TEXT NOT NULL,
    delivery_error_code   TEXT NOT NULL DEFAULT '',
    delivery_error_reason TEXT NOT NULL DEFAULT '',
    attempts              INTEGER NOT NULL DEFAULT 0,  -- tries at the SMS provider
    origin_id             INTEGER,           -- the sent copy this one was delivered from
    provider_id           TEXT UNIQUE        -- the SMS provider's id of a message from outside
);
-- A delivery done twice (resumed after a crash) finds the copies it made the first time.
CREATE UNIQUE INDEX messages_origin_extension ON messages (origin_id, extension_id) WHERE origin_id IS NOT NULL;
-- The message-store filters, within one extension and newest first.
CREATE INDEX messages_extension_time ON messages (extension_id, creation_time);
CREATE INDEX messages_extension_availability_time ON messages (extension_id, availability, creation_time);
CREATE INDEX messages_extension_conversation_time ON messages (extension_id, conversation_id, creation_time);
CREATE INDEX messages_extension_read_time ON messages (extension_id, read_status, creation_time);

-- Deliveries not finished yet; the row goes when the sent copy's status is final.
CREATE TABLE message_deliveries (
    message_id   INTEGER PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,  -- the sent copy
    route        TEXT NOT NULL,          -- on-net | test-line | provider
    recipients   TEXT NOT NULL,          -- JSON array of extension ids (on-net)
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt TEXT NOT NULL,          -- RFC 3339, UTC, fixed width
    last_error   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX message_deliveries_next ON message_deliveries (next_attempt);

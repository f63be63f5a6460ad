-- Call log: one record per extension party of an ended call (telephony.CallRecord).
CREATE TABLE call_log (
    {{.RowID}}
    id                   TEXT PRIMARY KEY,  -- the party id
    extension_id         INTEGER NOT NULL,
    session_id           TEXT NOT NULL,     -- numeric sessionId
    telephony_session_id TEXT NOT NULL,
    party_id             TEXT NOT NULL,
    start_time           TEXT NOT NULL,     -- RFC 3339, UTC, fixed millisecond width so it sorts as text
    duration             INTEGER NOT NULL,  -- whole seconds connected
    direction            TEXT NOT NULL,     -- Inbound | Outbound
    from_number          TEXT NOT NULL,
    from_name            TEXT NOT NULL,
    from_ext             TEXT NOT NULL,
    to_number            TEXT NOT NULL,
    to_name              TEXT NOT NULL,
    to_ext               TEXT NOT NULL,
    type                 TEXT NOT NULL,     -- Voice
    action               TEXT NOT NULL,     -- VoIP Call | Phone Call
    result               TEXT NOT NULL      -- Call connected, Missed, Busy, Rejected, No Answer, Canceled, Failed, Accepted
);
CREATE INDEX call_log_extension_start ON call_log (extension_id, start_time);

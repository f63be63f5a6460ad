-- The audio the server keeps: voicemail messages' attachments, call recordings and greetings.
-- Files live under the audio dir (store.DB.AudioDir); rows name them by a path relative to it.
-- Whoever deletes a row deletes its file (audio.go).

-- The audio of a VoiceMail message (messaging.Attachment). A message's attachments go with it.
CREATE TABLE message_attachments (
    id           {{.Serial}},  -- never reused
    message_id   INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    content_type TEXT NOT NULL,     -- audio/ogg | audio/wav
    vm_duration  INTEGER NOT NULL,  -- whole seconds, rounded
    file         TEXT NOT NULL,     -- relative to the audio dir
    size         INTEGER NOT NULL   -- bytes
);
CREATE INDEX message_attachments_message ON message_attachments (message_id);

-- Call recordings (audio.Recording). The row is written when the recording starts, so that a
-- recording the disk could not take is still known, and completed when it stops.
CREATE TABLE recordings (
    id                   TEXT PRIMARY KEY,  -- the switch's recording id (call log recording.id)
    account_id           INTEGER NOT NULL,
    extension_id         INTEGER NOT NULL,  -- the owner
    telephony_session_id TEXT NOT NULL,
    session_id           TEXT NOT NULL,
    type                 TEXT NOT NULL,     -- OnDemand | Automatic
    content_type         TEXT NOT NULL DEFAULT '',
    duration_ms          INTEGER NOT NULL DEFAULT 0,
    file                 TEXT NOT NULL DEFAULT '',  -- relative to the audio dir; '' when none was made; while
                                                    -- Recording, the file without its extension
    size                 INTEGER NOT NULL DEFAULT 0,
    start_time           TEXT NOT NULL,     -- RFC 3339, UTC, fixed millisecond width so it sorts as text
    status               TEXT NOT NULL,     -- Recording | Completed | StorageFull | Failed
    error                TEXT NOT NULL DEFAULT ''
);
-- the retention sweep
CREATE INDEX recordings_start ON recordings (start_time);

-- the retention sweep of voicemail
CREATE INDEX messages_type_time ON messages (type, creation_time);

-- The recording of the owner's call-log record (telephony.CallRecord.Recording).
ALTER TABLE call_log ADD COLUMN recording_id TEXT NOT NULL DEFAULT '';
ALTER TABLE call_log ADD COLUMN recording_type TEXT NOT NULL DEFAULT '';

-- An extension's own voicemail greeting (audio.Greeting); without a row, the default one.
CREATE TABLE greetings (
    extension_id INTEGER PRIMARY KEY REFERENCES extensions (id) ON DELETE CASCADE,
    file         TEXT NOT NULL,     -- relative to the audio dir
    content_type TEXT NOT NULL,
    duration_ms  INTEGER NOT NULL,
    updated_at   TEXT NOT NULL
);

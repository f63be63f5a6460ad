-- The platform API: indexes for filtered call-log pages (docs/api.md "Call log") and the
-- presence users set (userStatus, dndStatus).

-- direction=… within a date range of one extension
CREATE INDEX call_log_extension_direction_start ON call_log (extension_id, direction, start_time);
-- phoneNumber=… matches either end: SQLite answers the OR with one index per side
CREATE INDEX call_log_extension_from_start ON call_log (extension_id, from_number, start_time);
CREATE INDEX call_log_extension_to_start ON call_log (extension_id, to_number, start_time);
CREATE INDEX call_log_extension_from_ext_start ON call_log (extension_id, from_ext, start_time);
CREATE INDEX call_log_extension_to_ext_start ON call_log (extension_id, to_ext, start_time);
-- the account-wide call log, newest first
CREATE INDEX call_log_start ON call_log (start_time);

-- What an extension set with PUT …/presence; no row means Available and TakeAllCalls.
CREATE TABLE presence (
    extension_id INTEGER PRIMARY KEY REFERENCES extensions (id) ON DELETE CASCADE,
    user_status  TEXT NOT NULL,  -- Available | Busy | Offline
    dnd_status   TEXT NOT NULL,  -- TakeAllCalls | DoNotAcceptAnyCalls | DoNotAcceptDepartmentCalls | TakeDepartmentCallsOnly
    updated_at   TEXT NOT NULL DEFAULT {{.Now}}
);

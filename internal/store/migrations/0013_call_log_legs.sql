-- The legs of a call-log record that was handed on (telephony.CallRecord.Legs): a JSON array,
-- the master first, each {startTime, duration, direction, action, result, from, to}; '' for a
-- call that never was, whose one leg is the record itself. Adding a column with a constant
-- default rewrites no row, and no query filters on it.
ALTER TABLE call_log ADD COLUMN legs TEXT NOT NULL DEFAULT '';

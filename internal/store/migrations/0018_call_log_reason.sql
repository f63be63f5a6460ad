-- The SIP failure that ended a party's call (telephony.CallRecord Code and Reason): 480 and
-- "Temporarily Unavailable" for an unavailable callee, so the history can say "Unavailable"
-- where the call view did. 0 and '' when none did: connected calls, and records kept before.
ALTER TABLE call_log ADD COLUMN reason_code INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_log ADD COLUMN reason TEXT NOT NULL DEFAULT '';

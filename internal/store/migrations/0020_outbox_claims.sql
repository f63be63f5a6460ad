-- Claims of the outbox's jobs (internal/outbox): with several servers on one database, the engine
-- that makes an attempt claims the job first, for a lease it renews while the attempt runs; the
-- others leave the job alone until the claim is released or its lease runs out. '' is none.
ALTER TABLE outbox ADD COLUMN claimed_by TEXT NOT NULL DEFAULT '';    -- the engine's id
ALTER TABLE outbox ADD COLUMN claimed_until TEXT NOT NULL DEFAULT ''; -- RFC 3339, UTC, fixed width

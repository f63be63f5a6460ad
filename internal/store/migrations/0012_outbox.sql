-- The outbox (internal/outbox): deliveries not done yet, of every kind — SMS to the provider's
-- webhook, messages to extensions of this server, notifications to webhook receivers. A row goes
-- when its delivery is done or given up.
CREATE TABLE outbox (
    id           {{.Serial}},  -- order of addition: a target's jobs go out in this order
    kind         TEXT NOT NULL,           -- whose handler makes the attempts: sms | message | webhook
    target       TEXT NOT NULL,           -- jobs of one kind and target go out one at a time
    ref          TEXT NOT NULL,           -- what the job is for, to its kind: a message id, a notification uuid
    payload      {{.Blob}} NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt TEXT NOT NULL,           -- RFC 3339, UTC, fixed width
    last_error   TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL DEFAULT {{.Now}}
);
CREATE INDEX outbox_target ON outbox (kind, target, id);

-- The deliveries of sent messages move here: to the provider as kind sms, on this server as
-- kind message (its route and recipients in the payload); ordered per conversation. Only a
-- SQLite database can be older than the outbox: a PostgreSQL one has no rows to move.
{{if .SQLite -}}
INSERT INTO outbox (kind, target, ref, payload, attempts, next_attempt, last_error)
SELECT CASE d.route WHEN 'provider' THEN 'sms' ELSE 'message' END,
       m.conversation_id,
       CAST(d.message_id AS TEXT),
       CASE d.route WHEN 'provider' THEN '' ELSE json_object('route', d.route, 'recipients', json(d.recipients)) END,
       d.attempts, d.next_attempt, d.last_error
FROM message_deliveries d JOIN messages m ON m.id = d.message_id
ORDER BY d.message_id;
{{end -}}
DROP TABLE message_deliveries;

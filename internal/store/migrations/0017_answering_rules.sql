-- Extensions' answering rules (telephony.AnsweringRule), kept by the widget's settings and the
-- API's answering-rule resource and read by the switch when a call rings an extension. An
-- extension without a row has the default rule (store.DefaultRule). Actions are the switch's
-- rule actions: Voicemail | Forward | Disconnect; a target is kept only with Forward.
CREATE TABLE answering_rules (
    extension_id     INTEGER PRIMARY KEY REFERENCES extensions (id) ON DELETE CASCADE,
    ring_seconds     INTEGER NOT NULL,             -- 5..120
    no_answer        TEXT NOT NULL,
    no_answer_target TEXT NOT NULL DEFAULT '',
    call_waiting     INTEGER NOT NULL,             -- 1: a call while on a call rings as usual
    busy             TEXT NOT NULL,                -- done when call waiting is off
    busy_target      TEXT NOT NULL DEFAULT '',
    ring_mode        TEXT NOT NULL,                -- Simultaneous | Sequential (departments)
    auto_record      INTEGER NOT NULL,             -- 1: every connected call is recorded
    updated_at       TEXT NOT NULL DEFAULT {{.Now}}
);

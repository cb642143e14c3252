-- The courier's outbox: every e-mail the identity service sends, rendered when it is queued,
-- and one dispatch row per delivery attempt.
--
-- status is Kratos's numbering: 1 queued, 2 sent, 3 processing, 4 abandoned.
-- next_attempt_at: for a queued message, when it may be sent (retry backoff); for a message
-- in processing, when the worker's claim lapses so another worker may take it over (a
-- crashed process leaves its claims behind). claim is the random token of the worker that
-- holds a message in processing; every update it makes is guarded by it.
CREATE TABLE identity_courier_messages (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    status INTEGER NOT NULL,
    channel TEXT NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    body_plaintext TEXT NOT NULL,
    template_type TEXT NOT NULL,
    template_data TEXT NOT NULL,
    send_count BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    next_attempt_at BIGINT NOT NULL,
    claim TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- The worker's pull: due messages by status and time.
CREATE INDEX identity_courier_messages_due ON identity_courier_messages (status, next_attempt_at);
-- The admin list, newest first, unfiltered or by status or recipient.
CREATE INDEX identity_courier_messages_created ON identity_courier_messages (created_at, id);
CREATE INDEX identity_courier_messages_status ON identity_courier_messages (status, created_at, id);
CREATE INDEX identity_courier_messages_recipient ON identity_courier_messages (recipient, created_at, id);

CREATE TABLE identity_courier_dispatches (
    id TEXT PRIMARY KEY,
    message_id TEXT NOT NULL REFERENCES identity_courier_messages (id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX identity_courier_dispatches_message ON identity_courier_dispatches (message_id, created_at);

-- One inbound message as one transaction: insert the message, update its thread.
\set thread random(1, 10000)
BEGIN;
INSERT INTO message (thread_id, external_id, body) VALUES (:thread, md5(random()::text), repeat('x', 300));
UPDATE thread SET last_message_at = now(), message_count = message_count + 1 WHERE id = :thread;
COMMIT;

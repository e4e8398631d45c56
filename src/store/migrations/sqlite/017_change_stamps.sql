-- A stamp for each small table that every claim or every event reads (pauses and limits, webhooks):
-- a random number written anew, in the change's own transaction, by every change to the table. One
-- stamp is one content of the table, so a process keeps the rows it read by their stamp and a claim
-- or an event checks the stamp inside its own statement instead of reading the rows again
-- (src/store/change-stamps.ts). Numbers stay below 2^53 so JavaScript reads them exactly.
CREATE TABLE change_stamps (
  name TEXT PRIMARY KEY,
  stamp INTEGER NOT NULL
);
INSERT INTO change_stamps (name, stamp) VALUES
  ('queue_controls', random() & 9007199254740991),
  ('webhooks', random() & 9007199254740991);

CREATE TRIGGER queue_pauses_insert_stamp AFTER INSERT ON queue_pauses
BEGIN UPDATE change_stamps SET stamp = random() & 9007199254740991 WHERE name = 'queue_controls'; END;
CREATE TRIGGER queue_pauses_update_stamp AFTER UPDATE ON queue_pauses
BEGIN UPDATE change_stamps SET stamp = random() & 9007199254740991 WHERE name = 'queue_controls'; END;
CREATE TRIGGER queue_pauses_delete_stamp AFTER DELETE ON queue_pauses
BEGIN UPDATE change_stamps SET stamp = random() & 9007199254740991 WHERE name = 'queue_controls'; END;
CREATE TRIGGER concurrency_limits_insert_stamp AFTER INSERT ON concurrency_limits
BEGIN UPDATE change_stamps SET stamp = random() & 9007199254740991 WHERE name = 'queue_controls'; END;
CREATE TRIGGER concurrency_limits_update_stamp AFTER UPDATE ON concurrency_limits
BEGIN UPDATE change_stamps SET stamp = random() & 9007199254740991 WHERE name = 'queue_controls'; END;
CREATE TRIGGER concurrency_limits_delete_stamp AFTER DELETE ON concurrency_limits
BEGIN UPDATE change_stamps SET stamp = random() & 9007199254740991 WHERE name = 'queue_controls'; END;

-- Only what decides which events a webhook is sent: the delivery loop's own writes (failing_since)
-- leave the stamp alone.
CREATE TRIGGER webhooks_insert_stamp AFTER INSERT ON webhooks
BEGIN UPDATE change_stamps SET stamp = random() & 9007199254740991 WHERE name = 'webhooks'; END;
CREATE TRIGGER webhooks_delete_stamp AFTER DELETE ON webhooks
BEGIN UPDATE change_stamps SET stamp = random() & 9007199254740991 WHERE name = 'webhooks'; END;
CREATE TRIGGER webhooks_update_stamp AFTER UPDATE ON webhooks
WHEN OLD.enabled IS NOT NEW.enabled OR OLD.events IS NOT NEW.events OR OLD.label IS NOT NEW.label OR OLD.project IS NOT NEW.project
BEGIN UPDATE change_stamps SET stamp = random() & 9007199254740991 WHERE name = 'webhooks'; END;

-- A stamp for each small table that every claim or every event reads (pauses and limits, webhooks):
-- a random number written anew, in the change's own transaction, by every change to the table. One
-- stamp is one content of the table, so a process keeps the rows it read by their stamp and a claim
-- or an event checks the stamp inside its own statement instead of reading the rows again
-- (src/store/change-stamps.ts). Numbers stay below 2^53 so JavaScript reads them exactly.
CREATE TABLE change_stamps (
  name TEXT PRIMARY KEY,
  stamp BIGINT NOT NULL
);
INSERT INTO change_stamps (name, stamp) VALUES
  ('queue_controls', floor(random() * 9007199254740991)::bigint),
  ('webhooks', floor(random() * 9007199254740991)::bigint);

-- Its one argument names the stamp. search_path is the one the migration ran with (the queue's schema).
CREATE FUNCTION athena_new_stamp() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  UPDATE change_stamps SET stamp = floor(random() * 9007199254740991)::bigint WHERE name = TG_ARGV[0];
  RETURN NULL;
END
$$;

CREATE TRIGGER queue_pauses_stamp AFTER INSERT OR UPDATE OR DELETE ON queue_pauses
  FOR EACH ROW EXECUTE FUNCTION athena_new_stamp('queue_controls');
CREATE TRIGGER queue_pauses_truncate_stamp AFTER TRUNCATE ON queue_pauses
  FOR EACH STATEMENT EXECUTE FUNCTION athena_new_stamp('queue_controls');
CREATE TRIGGER concurrency_limits_stamp AFTER INSERT OR UPDATE OR DELETE ON concurrency_limits
  FOR EACH ROW EXECUTE FUNCTION athena_new_stamp('queue_controls');
CREATE TRIGGER concurrency_limits_truncate_stamp AFTER TRUNCATE ON concurrency_limits
  FOR EACH STATEMENT EXECUTE FUNCTION athena_new_stamp('queue_controls');

-- Only what decides which events a webhook is sent: the delivery loop's own writes (failing_since)
-- leave the stamp alone.
CREATE TRIGGER webhooks_stamp AFTER INSERT OR DELETE ON webhooks
  FOR EACH ROW EXECUTE FUNCTION athena_new_stamp('webhooks');
CREATE TRIGGER webhooks_update_stamp AFTER UPDATE ON webhooks
  FOR EACH ROW WHEN (OLD.enabled IS DISTINCT FROM NEW.enabled OR OLD.events IS DISTINCT FROM NEW.events
                     OR OLD.label IS DISTINCT FROM NEW.label OR OLD.project IS DISTINCT FROM NEW.project)
  EXECUTE FUNCTION athena_new_stamp('webhooks');
CREATE TRIGGER webhooks_truncate_stamp AFTER TRUNCATE ON webhooks
  FOR EACH STATEMENT EXECUTE FUNCTION athena_new_stamp('webhooks');

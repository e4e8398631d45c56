-- Cross-replica wake-ups: every transaction that writes task_logs sends one NOTIFY on commit
-- (a statement trigger, and PostgreSQL folds identical notifications of one transaction).
-- The payload is the schema, so replicas of different queues on one database ignore each other.

CREATE FUNCTION athena_notify_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('athena_events', TG_TABLE_SCHEMA);
  RETURN NULL;
END
$$;

CREATE TRIGGER task_logs_notify AFTER INSERT ON task_logs
  FOR EACH STATEMENT EXECUTE FUNCTION athena_notify_events();

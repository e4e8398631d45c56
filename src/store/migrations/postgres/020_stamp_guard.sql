-- Fails the statement that calls it with SQLSTATE AT001: a statement the process sent on the strength
-- of rows it keeps by their stamp (017) found that stamp changed, and its transaction runs again
-- (Dialect.stampGuard, src/store/postgres/errors.ts). Called only in the ELSE of a CASE that
-- compares the stamp, so a statement whose stamp holds never calls it.
CREATE FUNCTION athena_stamp_changed(stamp_name TEXT) RETURNS INTEGER LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the % changed since this process read them', stamp_name USING ERRCODE = 'AT001';
END
$$;

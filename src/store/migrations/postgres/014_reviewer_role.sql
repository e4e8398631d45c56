-- A `reviewer` key role (may read and decide reviews, nothing more), as sqlite/014_reviewer_role.sql.
ALTER TABLE api_keys DROP CONSTRAINT api_keys_role_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_role_check CHECK (role IN ('admin', 'agent', 'reader', 'reviewer'));

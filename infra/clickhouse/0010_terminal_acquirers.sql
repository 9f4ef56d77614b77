-- terminal.profiles.v1 gained acquirerId (null on profiles from before it): who registered the
-- terminal, and so the only acquirer whose later profiles may change it.
ALTER TABLE ${database}.terminals
    ADD COLUMN IF NOT EXISTS acquirerId Nullable(String) AFTER updatedAt;

-- The columns of River's job table that Starling's own queries read (the queue depth
-- figures of /metrics and the admin page). River creates and migrates the table itself
-- (internal/migrate); this file only tells sqlc its shape and is not a migration.
CREATE TYPE river_job_state AS ENUM (
    'available', 'cancelled', 'completed', 'discarded', 'pending', 'retryable', 'running', 'scheduled'
);
CREATE TABLE river_job (
    id           bigint          PRIMARY KEY,
    kind         text            NOT NULL,
    args         jsonb           NOT NULL,
    queue        text            NOT NULL,
    state        river_job_state NOT NULL,
    created_at   timestamptz     NOT NULL,
    scheduled_at timestamptz     NOT NULL,
    attempted_at timestamptz
);

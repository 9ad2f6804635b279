-- name: MarkersOfUser :many
-- The user's markers for the given timelines; a timeline never saved has no row.
SELECT * FROM markers
WHERE user_id = @user_id AND timeline = ANY(@timelines::text[])
ORDER BY timeline;

-- name: MarkerUpsert :many
-- Saves the user's position in each timeline (timelines[i] at last_read_ids[i]) in one
-- statement: a new marker starts at version 1, a saved one goes up by one, so concurrent
-- saves never lose an increment. Callers pass timelines in a fixed order, so two saves of
-- both timelines lock their rows in the same order and cannot deadlock.
INSERT INTO markers (user_id, timeline, last_read_id)
SELECT @user_id::bigint, unnest(@timelines::text[]), unnest(@last_read_ids::bigint[])
ON CONFLICT (user_id, timeline) DO UPDATE
SET last_read_id = EXCLUDED.last_read_id, version = markers.version + 1, updated_at = now()
RETURNING *;

-- Evaluated as the first statement of the extract's REPEATABLE READ transaction, so its answer holds for
-- the snapshot every later page reads. A window [start, end) is safe when
--   * end <= now() - lag: no clock skew or just-started transaction can still stamp a row before end, and
--   * no transaction still open in this database started before end: updated_at is set to the writer's
--     transaction start, so such a transaction may yet commit rows stamped inside the window (whether or
--     not it has written anything so far), and
--   * no prepared (two-phase) transaction is pending in this database.
-- and the role can see other roles' transaction starts at all (superuser or pg_read_all_stats): for any other
-- role pg_stat_activity shows NULL there, the open-transaction check would pass blind.
-- Parameters: %(window_end)s, %(lag_seconds)s.
SELECT now() AS snapshot_time,
       pg_current_snapshot()::text AS snapshot,
       %(window_end)s::timestamptz <= now() - make_interval(secs => %(lag_seconds)s) AS end_is_old_enough,
       (SELECT coalesce(json_agg(json_build_object(
                  'pid', pid, 'xact_start', xact_start, 'state', state,
                  'application_name', application_name, 'query', left(query, 200)) ORDER BY xact_start), '[]')
          FROM pg_stat_activity
         WHERE datname = current_database()
           AND pid <> pg_backend_pid()
           AND backend_type = 'client backend'
           AND xact_start < %(window_end)s::timestamptz) AS open_transactions,
       (SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()) AS prepared_transactions,
       current_user AS extract_role,
       (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
         OR pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') AS sees_all_transactions;

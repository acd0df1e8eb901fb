-- Views over the registered tables, created after them. latest_completed_season: one row, the newest season
-- whose status is complete as of the summary's as-of date (the calendar rule of seasons/calendar.py, applied
-- when the marts were built); every canonical query that takes a season defaults to it.
CREATE OR REPLACE VIEW marts.latest_completed_season AS
SELECT max(year) AS year, max(as_of) AS as_of
FROM marts.black_friday_summary
WHERE status = 'complete';

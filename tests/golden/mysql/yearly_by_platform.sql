WITH events_agg AS (
  SELECT
    CAST(MAKEDATE(YEAR(CAST(events.occurred_at AS DATE)), 1) AS DATE) AS metric_time__year,
    events.platform AS event__platform,
    COUNT(*) AS events,
    COUNT(DISTINCT CAST(events.user_id AS BINARY)) AS active_users
  FROM events AS events
  WHERE
    NOT events.event_type IN (CAST('email_open' AS BINARY), CAST('login_failed' AS BINARY))
  GROUP BY
    CAST(MAKEDATE(YEAR(CAST(events.occurred_at AS DATE)), 1) AS DATE),
    events.platform,
    CAST(events.platform AS BINARY)
)
SELECT
  events_agg.metric_time__year AS metric_time__year,
  events_agg.event__platform AS event__platform,
  CAST(COALESCE(events_agg.events, 0) AS DOUBLE) / NULLIF(COALESCE(events_agg.active_users, 0), 0) AS events_per_active_user
FROM events_agg
ORDER BY
  CASE WHEN events_agg.metric_time__year IS NULL THEN 1 ELSE 0 END, events_agg.metric_time__year,
  CASE WHEN events_agg.event__platform IS NULL THEN 1 ELSE 0 END, events_agg.event__platform

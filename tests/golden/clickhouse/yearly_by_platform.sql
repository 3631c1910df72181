WITH events_agg AS (
  SELECT
    toDate32(dateTrunc('YEAR', toDate32(events.occurred_at))) AS metric_time__year,
    events.platform AS event__platform,
    COUNT(*) AS events,
    COUNT(DISTINCT events.user_id) AS active_users
  FROM events AS events
  WHERE
    NOT (
      events.event_type IN ('email_open', 'login_failed')
    )
  GROUP BY
    toDate32(dateTrunc('YEAR', toDate32(events.occurred_at))),
    events.platform
)
SELECT
  events_agg.metric_time__year AS metric_time__year,
  events_agg.event__platform AS event__platform,
  CAST(COALESCE(events_agg.events, 0) AS Nullable(Float64)) / nullIf(COALESCE(events_agg.active_users, 0), 0) AS events_per_active_user
FROM events_agg
ORDER BY
  metric_time__year,
  event__platform

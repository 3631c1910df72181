SELECT
  toDate32(dateTrunc('YEAR', toDate32(events.occurred_at))) AS metric_time__year,
  events.platform AS event__platform,
  CAST(COALESCE(COUNT(*), 0) AS Nullable(Float64)) / nullIf(COALESCE(COUNT(DISTINCT events.user_id), 0), 0) AS events_per_active_user
FROM events AS events
WHERE
  NOT (
    events.event_type IN ('email_open', 'login_failed')
  )
GROUP BY
  toDate32(dateTrunc('YEAR', toDate32(events.occurred_at))),
  events.platform
ORDER BY
  metric_time__year,
  event__platform

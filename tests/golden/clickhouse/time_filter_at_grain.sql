WITH events_per_day_periods AS (
  SELECT
    CAST(dateTrunc('MONTH', CAST(events.occurred_at AS Nullable(Date32))) AS Nullable(Date32)) AS metric_time__month,
    COUNT(DISTINCT CAST(events.occurred_at AS Nullable(Date32))) AS period_count
  FROM events AS events
  GROUP BY
    CAST(dateTrunc('MONTH', CAST(events.occurred_at AS Nullable(Date32))) AS Nullable(Date32))
), events_per_day AS (
  SELECT
    CAST(dateTrunc('MONTH', CAST(events.occurred_at AS Nullable(Date32))) AS Nullable(Date32)) AS metric_time__month,
    CAST(events.occurred_at AS Nullable(Date32)) AS period_start,
    COUNT(DISTINCT events.user_id) AS active_users
  FROM events AS events
  LEFT JOIN users AS users
    ON events.user_id = users.user_id
  WHERE
    CAST(dateTrunc('MONTH', CAST(users.signed_up_at AS Nullable(Date32))) AS Nullable(Date32)) = CAST('2026-02-01' AS Nullable(Date32))
    AND NOT (
      events.event_type IN ('email_open', 'login_failed')
    )
  GROUP BY
    CAST(dateTrunc('MONTH', CAST(events.occurred_at AS Nullable(Date32))) AS Nullable(Date32)),
    CAST(events.occurred_at AS Nullable(Date32))
), events_per_day_rollup AS (
  SELECT
    events_per_day.metric_time__month,
    CAST(SUM(events_per_day.active_users) AS Nullable(Float64)) / MAX(events_per_day_periods.period_count) AS active_users
  FROM events_per_day
  INNER JOIN events_per_day_periods
    ON events_per_day.metric_time__month = events_per_day_periods.metric_time__month
  GROUP BY
    events_per_day.metric_time__month
)
SELECT
  events_per_day_rollup.metric_time__month AS metric_time__month,
  COALESCE(events_per_day_rollup.active_users, 0) AS daily_active_users
FROM events_per_day_rollup
ORDER BY
  metric_time__month

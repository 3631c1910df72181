WITH events_per_day AS (
  SELECT
    toDate32(events.occurred_at) AS period_start,
    COUNT(DISTINCT events.user_id) AS active_users
  FROM events AS events
  LEFT JOIN users AS users
    ON events.user_id = users.user_id
  WHERE
    toDate32(dateTrunc('MONTH', toDate32(users.signed_up_at))) = CAST('2026-02-01' AS Nullable(Date32))
    AND NOT (
      events.event_type IN ('email_open', 'login_failed')
    )
  GROUP BY
    toDate32(events.occurred_at)
), events_per_day_periods_bounds AS (
  SELECT
    MIN(toDate32(events.occurred_at)) AS first_day,
    MAX(toDate32(events.occurred_at)) AS last_day
  FROM events AS events
), events_per_day_periods_days AS (
  SELECT
    arrayJoin(
      arrayMap(
        n -> addDays(events_per_day_periods_bounds.first_day, n),
        range(
          toUInt32(
            DATE_DIFF(DAY, events_per_day_periods_bounds.first_day, events_per_day_periods_bounds.last_day) + 1
          )
        )
      )
    ) AS spine_day
  FROM events_per_day_periods_bounds
  WHERE
    events_per_day_periods_bounds.first_day <= events_per_day_periods_bounds.last_day
), events_per_day_periods AS (
  SELECT
    toDate32(dateTrunc('MONTH', toDate32(spine_day))) AS metric_time__month,
    COUNT(DISTINCT toDate32(spine_day)) AS period_count
  FROM events_per_day_periods_days
  GROUP BY
    toDate32(dateTrunc('MONTH', toDate32(spine_day)))
)
SELECT
  toDate32(dateTrunc('MONTH', toDate32(events_per_day.period_start))) AS metric_time__month,
  COALESCE(
    CAST(SUM(events_per_day.active_users) AS Nullable(Float64)) / MAX(events_per_day_periods.period_count),
    0
  ) AS daily_active_users
FROM events_per_day
INNER JOIN events_per_day_periods
  ON toDate32(dateTrunc('MONTH', toDate32(events_per_day.period_start))) = events_per_day_periods.metric_time__month
GROUP BY
  toDate32(dateTrunc('MONTH', toDate32(events_per_day.period_start)))
ORDER BY
  metric_time__month

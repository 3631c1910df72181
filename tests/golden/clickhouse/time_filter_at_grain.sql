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
), events_per_day_bounds AS (
  SELECT
    MIN(toDate32(events.occurred_at)) AS first_day,
    MAX(toDate32(events.occurred_at)) AS last_day
  FROM events AS events
)
SELECT
  toDate32(dateTrunc('MONTH', toDate32(events_per_day.period_start))) AS metric_time__month,
  COALESCE(
    CAST(SUM(events_per_day.active_users) AS Nullable(Float64)) / MAX(
      DATE_DIFF(
        DAY,
        GREATEST(
          events_per_day_bounds.first_day,
          toDate32(dateTrunc('MONTH', toDate32(events_per_day.period_start)))
        ),
        LEAST(
          events_per_day_bounds.last_day,
          toDate32(
            DATE_SUB(
              DAY,
              1,
              DATE_ADD(MONTH, 1, toDate32(dateTrunc('MONTH', toDate32(events_per_day.period_start))))
            )
          )
        )
      ) + 1
    ),
    0
  ) AS daily_active_users
FROM events_per_day
CROSS JOIN events_per_day_bounds
WHERE
  NOT (
    events_per_day.period_start IS NULL
  )
GROUP BY
  toDate32(dateTrunc('MONTH', toDate32(events_per_day.period_start)))
ORDER BY
  metric_time__month

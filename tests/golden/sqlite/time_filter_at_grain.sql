WITH spine_digits AS (
  SELECT
    0 AS n
  UNION ALL
  SELECT
    1 AS n
  UNION ALL
  SELECT
    2 AS n
  UNION ALL
  SELECT
    3 AS n
  UNION ALL
  SELECT
    4 AS n
  UNION ALL
  SELECT
    5 AS n
  UNION ALL
  SELECT
    6 AS n
  UNION ALL
  SELECT
    7 AS n
  UNION ALL
  SELECT
    8 AS n
  UNION ALL
  SELECT
    9 AS n
), events_per_day AS (
  SELECT
    DATE(events.occurred_at) AS period_start,
    COUNT(DISTINCT events.user_id) AS active_users
  FROM events AS events
  LEFT JOIN users AS users
    ON events.user_id = users.user_id
  WHERE
    DATE(users.signed_up_at, 'start of month') = DATE('2026-02-01')
    AND NOT events.event_type IN ('email_open', 'login_failed')
  GROUP BY
    DATE(events.occurred_at)
), events_per_day_periods_bounds AS (
  SELECT
    MIN(DATE(events.occurred_at)) AS first_day,
    MAX(DATE(events.occurred_at)) AS last_day
  FROM events AS events
), events_per_day_periods AS (
  SELECT
    DATE(
      JULIANDAY(events_per_day_periods_bounds.first_day) + spine_offsets.n,
      'start of month'
    ) AS metric_time__month,
    COUNT(
      DISTINCT DATE(JULIANDAY(events_per_day_periods_bounds.first_day) + spine_offsets.n)
    ) AS period_count
  FROM events_per_day_periods_bounds
  CROSS JOIN (
    SELECT
      d0.n + d1.n * 10 + d2.n * 100 + d3.n * 1000 + d4.n * 10000 AS n
    FROM spine_digits AS d0
    CROSS JOIN spine_digits AS d1
    CROSS JOIN spine_digits AS d2
    CROSS JOIN spine_digits AS d3
    CROSS JOIN spine_digits AS d4
  ) AS spine_offsets
  WHERE
    DATE(JULIANDAY(events_per_day_periods_bounds.first_day) + spine_offsets.n) <= events_per_day_periods_bounds.last_day
  GROUP BY
    DATE(
      JULIANDAY(events_per_day_periods_bounds.first_day) + spine_offsets.n,
      'start of month'
    )
), events_per_day_rollup AS (
  SELECT
    DATE(events_per_day.period_start, 'start of month') AS metric_time__month,
    CAST(SUM(events_per_day.active_users) AS REAL) / MAX(events_per_day_periods.period_count) AS active_users
  FROM events_per_day
  CROSS JOIN events_per_day_periods
    ON DATE(events_per_day.period_start, 'start of month') = events_per_day_periods.metric_time__month
  GROUP BY
    DATE(events_per_day.period_start, 'start of month')
)
SELECT
  events_per_day_rollup.metric_time__month AS metric_time__month,
  COALESCE(events_per_day_rollup.active_users, 0) AS daily_active_users
FROM events_per_day_rollup
ORDER BY
  metric_time__month NULLS LAST

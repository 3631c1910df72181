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
    CAST(events.occurred_at AS DATE) AS period_start,
    COUNT(DISTINCT CAST(events.user_id AS BINARY)) AS active_users
  FROM events AS events
  LEFT JOIN users AS users
    ON events.user_id = users.user_id
  WHERE
    CAST(DATE_SUB(
      CAST(users.signed_up_at AS DATE),
      INTERVAL (DAYOFMONTH(CAST(users.signed_up_at AS DATE)) - 1) DAY
    ) AS DATE) = CAST('2026-02-01' AS DATE)
    AND NOT events.event_type IN (CAST('email_open' AS BINARY), CAST('login_failed' AS BINARY))
  GROUP BY
    CAST(events.occurred_at AS DATE)
), events_per_day_periods_bounds AS (
  SELECT
    MIN(CAST(events.occurred_at AS DATE)) AS first_day,
    MAX(CAST(events.occurred_at AS DATE)) AS last_day
  FROM events AS events
), events_per_day_periods_days AS (
  SELECT
    CAST(DATE_ADD(
      CAST(events_per_day_periods_bounds.first_day AS DATE),
      INTERVAL spine_offsets.n DAY
    ) AS DATE) AS spine_day
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
    CAST(DATE_ADD(
      CAST(events_per_day_periods_bounds.first_day AS DATE),
      INTERVAL spine_offsets.n DAY
    ) AS DATE) <= events_per_day_periods_bounds.last_day
), events_per_day_periods AS (
  SELECT
    CAST(DATE_SUB(CAST(spine_day AS DATE), INTERVAL (DAYOFMONTH(CAST(spine_day AS DATE)) - 1) DAY) AS DATE) AS metric_time__month,
    COUNT(DISTINCT CAST(spine_day AS DATE)) AS period_count
  FROM events_per_day_periods_days
  GROUP BY
    CAST(DATE_SUB(CAST(spine_day AS DATE), INTERVAL (DAYOFMONTH(CAST(spine_day AS DATE)) - 1) DAY) AS DATE)
), events_per_day_rollup AS (
  SELECT
    CAST(DATE_SUB(
      CAST(events_per_day.period_start AS DATE),
      INTERVAL (DAYOFMONTH(CAST(events_per_day.period_start AS DATE)) - 1) DAY
    ) AS DATE) AS metric_time__month,
    CAST(SUM(events_per_day.active_users) AS DOUBLE) / MAX(events_per_day_periods.period_count) AS active_users
  FROM events_per_day
  INNER JOIN events_per_day_periods
    ON CAST(DATE_SUB(
      CAST(events_per_day.period_start AS DATE),
      INTERVAL (DAYOFMONTH(CAST(events_per_day.period_start AS DATE)) - 1) DAY
    ) AS DATE) = events_per_day_periods.metric_time__month
  GROUP BY
    CAST(DATE_SUB(
      CAST(events_per_day.period_start AS DATE),
      INTERVAL (DAYOFMONTH(CAST(events_per_day.period_start AS DATE)) - 1) DAY
    ) AS DATE)
)
SELECT
  events_per_day_rollup.metric_time__month AS metric_time__month,
  COALESCE(events_per_day_rollup.active_users, 0) AS daily_active_users
FROM events_per_day_rollup
ORDER BY
  CASE WHEN events_per_day_rollup.metric_time__month IS NULL THEN 1 ELSE 0 END, events_per_day_rollup.metric_time__month

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
    CAST(events.occurred_at AS Nullable(Date32))
), events_per_day_periods_bounds AS (
  SELECT
    MIN(CAST(events.occurred_at AS Nullable(Date32))) AS first_day,
    MAX(CAST(events.occurred_at AS Nullable(Date32))) AS last_day
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
    CAST(dateTrunc('MONTH', CAST(spine_day AS Nullable(Date32))) AS Nullable(Date32)) AS metric_time__month,
    COUNT(DISTINCT CAST(spine_day AS Nullable(Date32))) AS period_count
  FROM events_per_day_periods_days
  GROUP BY
    CAST(dateTrunc('MONTH', CAST(spine_day AS Nullable(Date32))) AS Nullable(Date32))
), events_per_day_rollup AS (
  SELECT
    CAST(dateTrunc('MONTH', CAST(events_per_day.period_start AS Nullable(Date32))) AS Nullable(Date32)) AS metric_time__month,
    CAST(SUM(events_per_day.active_users) AS Nullable(Float64)) / MAX(events_per_day_periods.period_count) AS active_users
  FROM events_per_day
  INNER JOIN events_per_day_periods
    ON CAST(dateTrunc('MONTH', CAST(events_per_day.period_start AS Nullable(Date32))) AS Nullable(Date32)) = events_per_day_periods.metric_time__month
  GROUP BY
    CAST(dateTrunc('MONTH', CAST(events_per_day.period_start AS Nullable(Date32))) AS Nullable(Date32))
)
SELECT
  events_per_day_rollup.metric_time__month AS metric_time__month,
  COALESCE(events_per_day_rollup.active_users, 0) AS daily_active_users
FROM events_per_day_rollup
ORDER BY
  metric_time__month

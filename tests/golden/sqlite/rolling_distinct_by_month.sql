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
), events_weekly_active_users AS (
  SELECT
    DATE(events.occurred_at) AS metric_day,
    events.user_id AS part
  FROM events AS events
  WHERE
    events.occurred_at >= DATE('2025-06-24', '-1 day')
    AND events.occurred_at < DATE('2026-06-30', '+2 days')
    AND DATE(events.occurred_at) BETWEEN DATE('2025-06-24') AND DATE('2026-06-30')
    AND NOT events.event_type IN ('email_open', 'login_failed')
    AND NOT events.user_id IS NULL
  GROUP BY
    DATE(events.occurred_at),
    events.user_id
), events_weekly_active_users_bounds AS (
  SELECT
    DATE('2025-07-01') AS first_day,
    DATE('2026-06-30') AS last_day
), events_weekly_active_users_points AS MATERIALIZED (
  SELECT
    DATE(JULIANDAY('2025-07-01') + spine_offsets.n, 'start of month') AS metric_time__month,
    DATE(JULIANDAY('2025-07-01') + MAX(spine_offsets.n)) AS window_end
  FROM events_weekly_active_users_bounds
  CROSS JOIN (
    SELECT
      d0.n + d1.n * 10 + d2.n * 100 AS n
    FROM spine_digits AS d0
    CROSS JOIN spine_digits AS d1
    CROSS JOIN spine_digits AS d2
  ) AS spine_offsets
  WHERE
    spine_offsets.n <= CAST((JULIANDAY(DATE('2026-06-30')) - JULIANDAY(DATE('2025-07-01'))) AS INTEGER)
  GROUP BY
    DATE(JULIANDAY('2025-07-01') + spine_offsets.n, 'start of month')
), events_weekly_active_users_window AS (
  SELECT
    events_weekly_active_users_points.metric_time__month,
    NULLIF(COUNT(DISTINCT events_weekly_active_users.part), 0) AS active_users
  FROM events_weekly_active_users_points
  LEFT JOIN events_weekly_active_users
    ON events_weekly_active_users.metric_day <= events_weekly_active_users_points.window_end
    AND events_weekly_active_users.metric_day > DATE(events_weekly_active_users_points.window_end, '-7 days')
  GROUP BY
    events_weekly_active_users_points.metric_time__month
), events_monthly_active_users AS (
  SELECT
    DATE(events.occurred_at) AS metric_day,
    events.user_id AS part
  FROM events AS events
  WHERE
    events.occurred_at >= DATE('2025-06-03', '-1 day')
    AND events.occurred_at < DATE('2026-06-30', '+2 days')
    AND DATE(events.occurred_at) BETWEEN DATE('2025-06-03') AND DATE('2026-06-30')
    AND NOT events.event_type IN ('email_open', 'login_failed')
    AND NOT events.user_id IS NULL
  GROUP BY
    DATE(events.occurred_at),
    events.user_id
), events_monthly_active_users_bounds AS (
  SELECT
    DATE('2025-07-01') AS first_day,
    DATE('2026-06-30') AS last_day
), events_monthly_active_users_points AS MATERIALIZED (
  SELECT
    DATE(JULIANDAY('2025-07-01') + spine_offsets.n, 'start of month') AS metric_time__month,
    DATE(JULIANDAY('2025-07-01') + MAX(spine_offsets.n)) AS window_end
  FROM events_monthly_active_users_bounds
  CROSS JOIN (
    SELECT
      d0.n + d1.n * 10 + d2.n * 100 AS n
    FROM spine_digits AS d0
    CROSS JOIN spine_digits AS d1
    CROSS JOIN spine_digits AS d2
  ) AS spine_offsets
  WHERE
    spine_offsets.n <= CAST((JULIANDAY(DATE('2026-06-30')) - JULIANDAY(DATE('2025-07-01'))) AS INTEGER)
  GROUP BY
    DATE(JULIANDAY('2025-07-01') + spine_offsets.n, 'start of month')
), events_monthly_active_users_window AS (
  SELECT
    events_monthly_active_users_points.metric_time__month,
    NULLIF(COUNT(DISTINCT events_monthly_active_users.part), 0) AS active_users
  FROM events_monthly_active_users_points
  LEFT JOIN events_monthly_active_users
    ON events_monthly_active_users.metric_day <= events_monthly_active_users_points.window_end
    AND events_monthly_active_users.metric_day > DATE(events_monthly_active_users_points.window_end, '-28 days')
  GROUP BY
    events_monthly_active_users_points.metric_time__month
)
SELECT
  events_weekly_active_users_window.metric_time__month AS metric_time__month,
  COALESCE(events_weekly_active_users_window.active_users, 0) AS weekly_active_users,
  COALESCE(events_monthly_active_users_window.active_users, 0) AS monthly_active_users
FROM events_weekly_active_users_window
LEFT JOIN events_monthly_active_users_window
  ON events_weekly_active_users_window.metric_time__month = events_monthly_active_users_window.metric_time__month
ORDER BY
  metric_time__month NULLS LAST

WITH events_weekly_active_users AS (
  SELECT
    CAST(events.occurred_at AS DATE) AS metric_day,
    events.user_id AS part
  FROM events AS events
  WHERE
    CAST(events.occurred_at AS DATE) BETWEEN CAST('2025-06-24' AS DATE) AND CAST('2026-06-30' AS DATE)
    AND NOT events.event_type IN ('email_open', 'login_failed')
    AND NOT events.user_id IS NULL
  GROUP BY
    CAST(events.occurred_at AS DATE),
    events.user_id
), events_weekly_active_users_bounds AS (
  SELECT
    CAST('2025-07-01' AS DATE) AS first_day,
    CAST('2026-06-30' AS DATE) AS last_day
), events_weekly_active_users_days AS (
  SELECT
    EXPLODE(
      SEQUENCE(
        CAST(events_weekly_active_users_bounds.first_day AS DATE),
        CAST(events_weekly_active_users_bounds.last_day AS DATE)
      )
    ) AS spine_day
  FROM events_weekly_active_users_bounds
  WHERE
    events_weekly_active_users_bounds.first_day <= events_weekly_active_users_bounds.last_day
), events_weekly_active_users_points AS (
  SELECT
    CAST(TRUNC(CAST(spine_day AS DATE), 'MONTH') AS DATE) AS metric_time__month,
    MAX(events_weekly_active_users_days.spine_day) AS window_end
  FROM events_weekly_active_users_days
  GROUP BY
    CAST(TRUNC(CAST(spine_day AS DATE), 'MONTH') AS DATE)
), events_weekly_active_users_window AS (
  SELECT
    events_weekly_active_users_points.metric_time__month,
    NULLIF(COUNT(DISTINCT events_weekly_active_users.part), 0) AS active_users
  FROM events_weekly_active_users_points
  LEFT JOIN events_weekly_active_users
    ON events_weekly_active_users.metric_day <= events_weekly_active_users_points.window_end
    AND events_weekly_active_users.metric_day > CAST(DATEADD(DAY, -7, CAST(events_weekly_active_users_points.window_end AS DATE)) AS DATE)
  GROUP BY
    events_weekly_active_users_points.metric_time__month
), events_monthly_active_users AS (
  SELECT
    CAST(events.occurred_at AS DATE) AS metric_day,
    events.user_id AS part
  FROM events AS events
  WHERE
    CAST(events.occurred_at AS DATE) BETWEEN CAST('2025-06-03' AS DATE) AND CAST('2026-06-30' AS DATE)
    AND NOT events.event_type IN ('email_open', 'login_failed')
    AND NOT events.user_id IS NULL
  GROUP BY
    CAST(events.occurred_at AS DATE),
    events.user_id
), events_monthly_active_users_bounds AS (
  SELECT
    CAST('2025-07-01' AS DATE) AS first_day,
    CAST('2026-06-30' AS DATE) AS last_day
), events_monthly_active_users_days AS (
  SELECT
    EXPLODE(
      SEQUENCE(
        CAST(events_monthly_active_users_bounds.first_day AS DATE),
        CAST(events_monthly_active_users_bounds.last_day AS DATE)
      )
    ) AS spine_day
  FROM events_monthly_active_users_bounds
  WHERE
    events_monthly_active_users_bounds.first_day <= events_monthly_active_users_bounds.last_day
), events_monthly_active_users_points AS (
  SELECT
    CAST(TRUNC(CAST(spine_day AS DATE), 'MONTH') AS DATE) AS metric_time__month,
    MAX(events_monthly_active_users_days.spine_day) AS window_end
  FROM events_monthly_active_users_days
  GROUP BY
    CAST(TRUNC(CAST(spine_day AS DATE), 'MONTH') AS DATE)
), events_monthly_active_users_window AS (
  SELECT
    events_monthly_active_users_points.metric_time__month,
    NULLIF(COUNT(DISTINCT events_monthly_active_users.part), 0) AS active_users
  FROM events_monthly_active_users_points
  LEFT JOIN events_monthly_active_users
    ON events_monthly_active_users.metric_day <= events_monthly_active_users_points.window_end
    AND events_monthly_active_users.metric_day > CAST(DATEADD(DAY, -28, CAST(events_monthly_active_users_points.window_end AS DATE)) AS DATE)
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

WITH events_weekly_active_users AS (
  SELECT
    CAST(events.occurred_at AS DATE) AS metric_day,
    events.user_id AS part
  FROM events AS events
  WHERE
    CAST(events.occurred_at AS DATE) BETWEEN CAST('2026-05-25' AS DATE) AND CAST('2026-06-30' AS DATE)
    AND NOT events.event_type IN ('email_open', 'login_failed')
    AND NOT events.user_id IS NULL
  GROUP BY
    CAST(events.occurred_at AS DATE),
    events.user_id
), events_weekly_active_users_bounds AS (
  SELECT
    CAST('2026-06-01' AS DATE) AS first_day,
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
    CAST(spine_day AS DATE) AS metric_time__day,
    MAX(events_weekly_active_users_days.spine_day) AS window_end
  FROM events_weekly_active_users_days
  GROUP BY
    CAST(spine_day AS DATE)
), events_weekly_active_users_window AS (
  SELECT
    events_weekly_active_users_points.metric_time__day,
    NULLIF(COUNT(DISTINCT events_weekly_active_users.part), 0) AS active_users
  FROM events_weekly_active_users_points
  LEFT JOIN events_weekly_active_users
    ON events_weekly_active_users.metric_day <= events_weekly_active_users_points.window_end
    AND events_weekly_active_users.metric_day > CAST(DATE_ADD(CAST(events_weekly_active_users_points.window_end AS DATE), -7) AS DATE)
  GROUP BY
    events_weekly_active_users_points.metric_time__day
)
SELECT
  events_weekly_active_users_window.metric_time__day AS metric_time__day,
  COALESCE(events_weekly_active_users_window.active_users, 0) AS weekly_active_users
FROM events_weekly_active_users_window
ORDER BY
  metric_time__day NULLS LAST

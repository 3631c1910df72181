WITH events_weekly_active_users AS (
  SELECT DISTINCT
    toDate32(events.occurred_at) AS metric_day,
    events.user_id AS part
  FROM events AS events
  WHERE
    toDate32(events.occurred_at) BETWEEN CAST('2026-05-25' AS Nullable(Date32)) AND CAST('2026-06-30' AS Nullable(Date32))
    AND NOT (
      events.event_type IN ('email_open', 'login_failed')
    )
    AND NOT (
      events.user_id IS NULL
    )
), events_weekly_active_users_bounds AS (
  SELECT
    CAST('2026-06-01' AS Nullable(Date32)) AS first_day,
    CAST('2026-06-30' AS Nullable(Date32)) AS last_day
), events_weekly_active_users_days AS (
  SELECT
    arrayJoin(
      arrayMap(
        n -> addDays(events_weekly_active_users_bounds.first_day, n),
        range(
          toUInt32(
            DATE_DIFF(
              DAY,
              events_weekly_active_users_bounds.first_day,
              events_weekly_active_users_bounds.last_day
            ) + 1
          )
        )
      )
    ) AS spine_day
  FROM events_weekly_active_users_bounds
  WHERE
    events_weekly_active_users_bounds.first_day <= events_weekly_active_users_bounds.last_day
), events_weekly_active_users_points AS (
  SELECT
    toDate32(spine_day) AS metric_time__day,
    MAX(events_weekly_active_users_days.spine_day) AS window_end
  FROM events_weekly_active_users_days
  GROUP BY
    toDate32(spine_day)
), events_weekly_active_users_window AS (
  SELECT
    events_weekly_active_users_points.metric_time__day,
    nullIf(COUNT(DISTINCT events_weekly_active_users.part), 0) AS active_users
  FROM events_weekly_active_users_points
  LEFT JOIN events_weekly_active_users
    ON events_weekly_active_users.metric_day <= events_weekly_active_users_points.window_end
    AND events_weekly_active_users.metric_day > toDate32(DATE_ADD(DAY, -7, toDate32(events_weekly_active_users_points.window_end)))
  GROUP BY
    events_weekly_active_users_points.metric_time__day
)
SELECT
  events_weekly_active_users_window.metric_time__day AS metric_time__day,
  COALESCE(events_weekly_active_users_window.active_users, 0) AS weekly_active_users
FROM events_weekly_active_users_window
ORDER BY
  metric_time__day

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
    CAST(events.occurred_at AS DATE) AS metric_day,
    events.user_id AS part
  FROM events AS events
  WHERE
    events.occurred_at >= CAST('2026-05-25' AS TIMESTAMP)
    AND events.occurred_at < CAST('2026-06-30' AS TIMESTAMP) + INTERVAL '1 DAY'
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
    CAST(CAST(events_weekly_active_users_bounds.first_day AS DATE) + (
      INTERVAL '1 DAY' * spine_offsets.n
    ) AS DATE) AS spine_day
  FROM events_weekly_active_users_bounds
  CROSS JOIN (
    SELECT
      d0.n + d1.n * 10 AS n
    FROM spine_digits AS d0
    CROSS JOIN spine_digits AS d1
  ) AS spine_offsets
  WHERE
    spine_offsets.n <= CAST(EXTRACT(epoch FROM CAST(CAST('2026-06-30' AS DATE) AS TIMESTAMP) - CAST(CAST('2026-06-01' AS DATE) AS TIMESTAMP)) / 86400 AS BIGINT)
), events_weekly_active_users_points AS (
  SELECT
    CAST(spine_day AS DATE) AS metric_time__day,
    MAX(events_weekly_active_users_days.spine_day) AS window_end
  FROM events_weekly_active_users_days
  GROUP BY
    CAST(spine_day AS DATE)
), events_weekly_active_users_runs AS (
  SELECT
    events_weekly_active_users.metric_day,
    LEAD(events_weekly_active_users.metric_day) OVER (
      PARTITION BY events_weekly_active_users.part
      ORDER BY events_weekly_active_users.metric_day
    ) AS next_day,
    CAST(CAST(events_weekly_active_users.metric_day AS DATE) + INTERVAL '7 DAY' AS DATE) AS expiry_day
  FROM events_weekly_active_users
), events_weekly_active_users_marks AS (
  SELECT
    CASE
      WHEN signs.sign = 1
      THEN events_weekly_active_users_runs.metric_day
      ELSE CASE
        WHEN NOT events_weekly_active_users_runs.next_day IS NULL
        AND events_weekly_active_users_runs.next_day < events_weekly_active_users_runs.expiry_day
        THEN events_weekly_active_users_runs.next_day
        ELSE events_weekly_active_users_runs.expiry_day
      END
    END AS mark_day,
    signs.sign AS change
  FROM events_weekly_active_users_runs
  CROSS JOIN (
    SELECT
      1 AS sign
    UNION ALL
    SELECT
      -1 AS sign
  ) AS signs
  OFFSET 0
), events_weekly_active_users_changes AS (
  SELECT
    events_weekly_active_users_marks.mark_day,
    SUM(events_weekly_active_users_marks.change) AS change
  FROM events_weekly_active_users_marks
  GROUP BY
    events_weekly_active_users_marks.mark_day
), events_weekly_active_users_ends AS (
  SELECT
    events_weekly_active_users_points.metric_time__day,
    NULLIF(SUM(events_weekly_active_users_changes.change), 0) AS active_users
  FROM events_weekly_active_users_points
  CROSS JOIN events_weekly_active_users_changes
  WHERE
    events_weekly_active_users_changes.mark_day <= events_weekly_active_users_points.window_end
  GROUP BY
    events_weekly_active_users_points.metric_time__day
), events_weekly_active_users_window AS (
  SELECT
    events_weekly_active_users_points.metric_time__day,
    events_weekly_active_users_ends.active_users
  FROM events_weekly_active_users_points
  LEFT JOIN events_weekly_active_users_ends
    ON events_weekly_active_users_points.metric_time__day = events_weekly_active_users_ends.metric_time__day
)
SELECT
  events_weekly_active_users_window.metric_time__day AS metric_time__day,
  COALESCE(events_weekly_active_users_window.active_users, 0) AS weekly_active_users
FROM events_weekly_active_users_window
ORDER BY
  metric_time__day

WITH events_per_day AS (
  SELECT
    users.plan AS user__plan,
    DATE(events.occurred_at) AS period_start,
    COUNT(DISTINCT events.user_id) AS active_users
  FROM events AS events
  LEFT JOIN users AS users
    ON events.user_id = users.user_id
  WHERE
    events.occurred_at >= DATE('2026-01-01', '-1 day')
    AND events.occurred_at < DATE('2026-03-31', '+2 days')
    AND users.country = 'DE'
    AND NOT events.event_type IN ('email_open', 'login_failed')
    AND DATE(events.occurred_at) BETWEEN DATE('2026-01-01') AND DATE('2026-03-31')
  GROUP BY
    users.plan,
    DATE(events.occurred_at)
), events_per_day_rollup AS (
  SELECT
    DATE(events_per_day.period_start, '-6 days', 'weekday 1') AS metric_time__week,
    events_per_day.user__plan,
    CAST(SUM(events_per_day.active_users) AS REAL) / MAX(
      CAST((JULIANDAY(MIN(
        COALESCE(
          DATE('2026-03-31'),
          DATE(events_per_day.period_start, '-6 days', 'weekday 1', '+7 days', '-1 days')
        ),
        COALESCE(
          DATE(events_per_day.period_start, '-6 days', 'weekday 1', '+7 days', '-1 days'),
          DATE('2026-03-31')
        )
      )) - JULIANDAY(MAX(
        COALESCE(DATE('2026-01-01'), DATE(events_per_day.period_start, '-6 days', 'weekday 1')),
        COALESCE(DATE(events_per_day.period_start, '-6 days', 'weekday 1'), DATE('2026-01-01'))
      ))) AS INTEGER) + 1
    ) AS active_users
  FROM events_per_day
  GROUP BY
    DATE(events_per_day.period_start, '-6 days', 'weekday 1'),
    events_per_day.user__plan
), users_agg AS (
  SELECT
    DATE(users.signed_up_at, '-6 days', 'weekday 1') AS metric_time__week,
    users.plan AS user__plan,
    COUNT(*) AS signups
  FROM users AS users
  WHERE
    users.signed_up_at >= DATE('2026-01-01', '-1 day')
    AND users.signed_up_at < DATE('2026-03-31', '+2 days')
    AND users.country = 'DE'
    AND DATE(users.signed_up_at) BETWEEN DATE('2026-01-01') AND DATE('2026-03-31')
  GROUP BY
    DATE(users.signed_up_at, '-6 days', 'weekday 1'),
    users.plan
), grain_keys AS (
  SELECT
    events_per_day_rollup.metric_time__week,
    events_per_day_rollup.user__plan
  FROM events_per_day_rollup
  UNION
  SELECT
    users_agg.metric_time__week,
    users_agg.user__plan
  FROM users_agg
)
SELECT
  grain_keys.metric_time__week AS metric_time__week,
  grain_keys.user__plan AS user__plan,
  COALESCE(events_per_day_rollup.active_users, 0) AS daily_active_users,
  COALESCE(users_agg.signups, 0) AS signups
FROM grain_keys
LEFT JOIN events_per_day_rollup
  ON grain_keys.metric_time__week = events_per_day_rollup.metric_time__week
  AND grain_keys.user__plan IS events_per_day_rollup.user__plan
LEFT JOIN users_agg
  ON grain_keys.metric_time__week = users_agg.metric_time__week
  AND grain_keys.user__plan IS users_agg.user__plan
ORDER BY
  daily_active_users DESC,
  metric_time__week NULLS LAST,
  user__plan NULLS LAST
LIMIT 100

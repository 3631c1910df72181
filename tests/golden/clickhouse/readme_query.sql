WITH events_per_day AS (
  SELECT
    users.plan AS user__plan,
    toDate32(events.occurred_at) AS period_start,
    COUNT(DISTINCT events.user_id) AS active_users
  FROM events AS events
  LEFT JOIN users AS users
    ON events.user_id = users.user_id
  WHERE
    users.country = 'DE'
    AND NOT (
      events.event_type IN ('email_open', 'login_failed')
    )
    AND toDate32(events.occurred_at) BETWEEN CAST('2026-01-01' AS Nullable(Date32)) AND CAST('2026-03-31' AS Nullable(Date32))
  GROUP BY
    users.plan,
    toDate32(events.occurred_at)
), events_per_day_rollup AS (
  SELECT
    toDate32(dateTrunc('WEEK', toDate32(events_per_day.period_start))) AS metric_time__week,
    events_per_day.user__plan,
    CAST(SUM(events_per_day.active_users) AS Nullable(Float64)) / MAX(
      DATE_DIFF(
        DAY,
        GREATEST(
          CAST('2026-01-01' AS Nullable(Date32)),
          toDate32(dateTrunc('WEEK', toDate32(events_per_day.period_start)))
        ),
        LEAST(
          CAST('2026-03-31' AS Nullable(Date32)),
          toDate32(
            DATE_SUB(
              DAY,
              1,
              DATE_ADD(DAY, 7, toDate32(dateTrunc('WEEK', toDate32(events_per_day.period_start))))
            )
          )
        )
      ) + 1
    ) AS active_users
  FROM events_per_day
  GROUP BY
    toDate32(dateTrunc('WEEK', toDate32(events_per_day.period_start))),
    events_per_day.user__plan
), users_agg AS (
  SELECT
    toDate32(dateTrunc('WEEK', toDate32(users.signed_up_at))) AS metric_time__week,
    users.plan AS user__plan,
    COUNT(*) AS signups
  FROM users AS users
  WHERE
    users.country = 'DE'
    AND toDate32(users.signed_up_at) BETWEEN CAST('2026-01-01' AS Nullable(Date32)) AND CAST('2026-03-31' AS Nullable(Date32))
  GROUP BY
    toDate32(dateTrunc('WEEK', toDate32(users.signed_up_at))),
    users.plan
), grain_keys AS (
  SELECT
    events_per_day_rollup.metric_time__week,
    events_per_day_rollup.user__plan
  FROM events_per_day_rollup
  UNION DISTINCT
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
  AND grain_keys.user__plan IS NOT DISTINCT FROM events_per_day_rollup.user__plan
LEFT JOIN users_agg
  ON grain_keys.metric_time__week = users_agg.metric_time__week
  AND grain_keys.user__plan IS NOT DISTINCT FROM users_agg.user__plan
ORDER BY
  daily_active_users DESC,
  metric_time__week,
  user__plan
LIMIT 100

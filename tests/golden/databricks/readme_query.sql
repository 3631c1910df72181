WITH events_per_day AS (
  SELECT
    users.plan AS user__plan,
    CAST(events.occurred_at AS DATE) AS period_start,
    COUNT(DISTINCT events.user_id) AS active_users
  FROM events AS events
  LEFT JOIN users AS users
    ON events.user_id = users.user_id
  WHERE
    users.country = 'DE'
    AND NOT events.event_type IN ('email_open', 'login_failed')
    AND CAST(events.occurred_at AS DATE) BETWEEN CAST('2026-01-01' AS DATE) AND CAST('2026-03-31' AS DATE)
  GROUP BY
    users.plan,
    CAST(events.occurred_at AS DATE)
), events_per_day_rollup AS (
  SELECT
    CAST(TRUNC(CAST(events_per_day.period_start AS DATE), 'WEEK') AS DATE) AS metric_time__week,
    events_per_day.user__plan,
    CAST(SUM(events_per_day.active_users) AS DOUBLE) / MAX(
      DATEDIFF(
        DAY,
        GREATEST(
          CAST('2026-01-01' AS DATE),
          CAST(TRUNC(CAST(events_per_day.period_start AS DATE), 'WEEK') AS DATE)
        ),
        LEAST(
          CAST('2026-03-31' AS DATE),
          CAST(DATE_ADD(
            DATEADD(DAY, 7, CAST(TRUNC(CAST(events_per_day.period_start AS DATE), 'WEEK') AS DATE)),
            -1
          ) AS DATE)
        )
      ) + 1
    ) AS active_users
  FROM events_per_day
  GROUP BY
    CAST(TRUNC(CAST(events_per_day.period_start AS DATE), 'WEEK') AS DATE),
    events_per_day.user__plan
), users_agg AS (
  SELECT
    CAST(TRUNC(CAST(users.signed_up_at AS DATE), 'WEEK') AS DATE) AS metric_time__week,
    users.plan AS user__plan,
    COUNT(*) AS signups
  FROM users AS users
  WHERE
    users.country = 'DE'
    AND CAST(users.signed_up_at AS DATE) BETWEEN CAST('2026-01-01' AS DATE) AND CAST('2026-03-31' AS DATE)
  GROUP BY
    CAST(TRUNC(CAST(users.signed_up_at AS DATE), 'WEEK') AS DATE),
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
  AND grain_keys.user__plan IS NOT DISTINCT FROM events_per_day_rollup.user__plan
LEFT JOIN users_agg
  ON grain_keys.metric_time__week = users_agg.metric_time__week
  AND grain_keys.user__plan IS NOT DISTINCT FROM users_agg.user__plan
ORDER BY
  daily_active_users DESC,
  metric_time__week NULLS LAST,
  user__plan NULLS LAST
LIMIT 100

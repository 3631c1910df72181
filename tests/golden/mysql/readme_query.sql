WITH events_per_day AS (
  SELECT
    users.plan AS user__plan,
    CAST(events.occurred_at AS DATE) AS period_start,
    COUNT(DISTINCT CAST(events.user_id AS BINARY)) AS active_users
  FROM events AS events
  LEFT JOIN users AS users
    ON events.user_id = users.user_id
  WHERE
    users.country = CAST('DE' AS BINARY)
    AND NOT events.event_type IN (CAST('email_open' AS BINARY), CAST('login_failed' AS BINARY))
    AND events.occurred_at >= CAST('2026-01-01' AS DATETIME)
    AND events.occurred_at < CAST('2026-03-31' AS DATETIME) + INTERVAL '1' DAY
  GROUP BY
    users.plan,
    CAST(events.occurred_at AS DATE),
    CAST(users.plan AS BINARY)
), events_per_day_rollup AS (
  SELECT
    CAST(DATE_SUB(
      CAST(events_per_day.period_start AS DATE),
      INTERVAL (WEEKDAY(CAST(events_per_day.period_start AS DATE))) DAY
    ) AS DATE) AS metric_time__week,
    events_per_day.user__plan,
    CAST(SUM(events_per_day.active_users) AS DOUBLE) / MAX(
      DATEDIFF(
        LEAST(
          CAST('2026-03-31' AS DATE),
          CAST(DATE_SUB(
            DATE_ADD(
              CAST(DATE_SUB(
                CAST(events_per_day.period_start AS DATE),
                INTERVAL (WEEKDAY(CAST(events_per_day.period_start AS DATE))) DAY
              ) AS DATE),
              INTERVAL 7 DAY
            ),
            INTERVAL 1 DAY
          ) AS DATE)
        ),
        GREATEST(
          CAST('2026-01-01' AS DATE),
          CAST(DATE_SUB(
            CAST(events_per_day.period_start AS DATE),
            INTERVAL (WEEKDAY(CAST(events_per_day.period_start AS DATE))) DAY
          ) AS DATE)
        )
      ) + 1
    ) AS active_users
  FROM events_per_day
  GROUP BY
    CAST(DATE_SUB(
      CAST(events_per_day.period_start AS DATE),
      INTERVAL (WEEKDAY(CAST(events_per_day.period_start AS DATE))) DAY
    ) AS DATE),
    events_per_day.user__plan,
    CAST(events_per_day.user__plan AS BINARY)
), users_agg AS (
  SELECT
    CAST(DATE_SUB(
      CAST(users.signed_up_at AS DATE),
      INTERVAL (WEEKDAY(CAST(users.signed_up_at AS DATE))) DAY
    ) AS DATE) AS metric_time__week,
    users.plan AS user__plan,
    COUNT(*) AS signups
  FROM users AS users
  WHERE
    users.country = CAST('DE' AS BINARY)
    AND users.signed_up_at >= CAST('2026-01-01' AS DATETIME)
    AND users.signed_up_at < CAST('2026-03-31' AS DATETIME) + INTERVAL '1' DAY
  GROUP BY
    CAST(DATE_SUB(
      CAST(users.signed_up_at AS DATE),
      INTERVAL (WEEKDAY(CAST(users.signed_up_at AS DATE))) DAY
    ) AS DATE),
    users.plan,
    CAST(users.plan AS BINARY)
), grain_keys AS (
  SELECT
    grain.metric_time__week,
    grain.user__plan
  FROM (
    SELECT
      events_per_day_rollup.metric_time__week,
      events_per_day_rollup.user__plan
    FROM events_per_day_rollup
    UNION ALL
    SELECT
      users_agg.metric_time__week,
      users_agg.user__plan
    FROM users_agg
  ) AS grain
  GROUP BY
    grain.metric_time__week,
    grain.user__plan,
    CAST(grain.metric_time__week AS BINARY),
    CAST(grain.user__plan AS BINARY)
)
SELECT
  grain_keys.metric_time__week AS metric_time__week,
  grain_keys.user__plan AS user__plan,
  COALESCE(events_per_day_rollup.active_users, 0) AS daily_active_users,
  COALESCE(users_agg.signups, 0) AS signups
FROM grain_keys
LEFT JOIN events_per_day_rollup
  ON grain_keys.metric_time__week = events_per_day_rollup.metric_time__week
  AND (
    grain_keys.user__plan <=> events_per_day_rollup.user__plan
    AND CAST(grain_keys.user__plan AS BINARY) <=> CAST(events_per_day_rollup.user__plan AS BINARY)
  )
LEFT JOIN users_agg
  ON grain_keys.metric_time__week = users_agg.metric_time__week
  AND (
    grain_keys.user__plan <=> users_agg.user__plan
    AND CAST(grain_keys.user__plan AS BINARY) <=> CAST(users_agg.user__plan AS BINARY)
  )
ORDER BY
  daily_active_users DESC,
  CASE WHEN grain_keys.metric_time__week IS NULL THEN 1 ELSE 0 END, grain_keys.metric_time__week,
  CASE WHEN grain_keys.user__plan IS NULL THEN 1 ELSE 0 END, grain_keys.user__plan
LIMIT 100

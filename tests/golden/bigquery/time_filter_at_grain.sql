WITH events_per_day AS (
  SELECT
    CAST(events.occurred_at AS DATE) AS period_start,
    COUNT(DISTINCT events.user_id) AS active_users
  FROM events AS events
  LEFT JOIN users AS users
    ON events.user_id = users.user_id
  WHERE
    CAST(DATE_TRUNC(CAST(users.signed_up_at AS DATE), MONTH) AS DATE) = CAST('2026-02-01' AS DATE)
    AND NOT events.event_type IN ('email_open', 'login_failed')
  GROUP BY
    CAST(events.occurred_at AS DATE)
), events_per_day_bounds AS (
  SELECT
    MIN(CAST(events.occurred_at AS DATE)) AS first_day,
    MAX(CAST(events.occurred_at AS DATE)) AS last_day
  FROM events AS events
), events_per_day_rollup AS (
  SELECT
    CAST(DATE_TRUNC(CAST(events_per_day.period_start AS DATE), MONTH) AS DATE) AS metric_time__month,
    CAST(SUM(events_per_day.active_users) AS FLOAT64) / MAX(
      DATE_DIFF(
        LEAST(
          events_per_day_bounds.last_day,
          CAST(DATE_SUB(DATE_ADD(CAST(DATE_TRUNC(CAST(events_per_day.period_start AS DATE), MONTH) AS DATE), INTERVAL 1 MONTH), INTERVAL 1 DAY) AS DATE)
        ),
        GREATEST(
          events_per_day_bounds.first_day,
          CAST(DATE_TRUNC(CAST(events_per_day.period_start AS DATE), MONTH) AS DATE)
        ),
        DAY
      ) + 1
    ) AS active_users
  FROM events_per_day
  CROSS JOIN events_per_day_bounds
  WHERE
    NOT events_per_day.period_start IS NULL
  GROUP BY
    CAST(DATE_TRUNC(CAST(events_per_day.period_start AS DATE), MONTH) AS DATE)
)
SELECT
  events_per_day_rollup.metric_time__month AS metric_time__month,
  COALESCE(events_per_day_rollup.active_users, 0) AS daily_active_users
FROM events_per_day_rollup
ORDER BY
  metric_time__month NULLS LAST

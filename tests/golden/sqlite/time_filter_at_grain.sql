WITH events_per_day AS (
  SELECT
    DATE(events.occurred_at) AS period_start,
    COUNT(DISTINCT events.user_id) AS active_users
  FROM events AS events
  LEFT JOIN users AS users
    ON events.user_id = users.user_id
  WHERE
    DATE(users.signed_up_at, 'start of month') = DATE('2026-02-01')
    AND NOT events.event_type IN ('email_open', 'login_failed')
  GROUP BY
    DATE(events.occurred_at)
), events_per_day_bounds AS (
  SELECT
    MIN(DATE(events.occurred_at)) AS first_day,
    MAX(DATE(events.occurred_at)) AS last_day
  FROM events AS events
), events_per_day_rollup AS (
  SELECT
    DATE(events_per_day.period_start, 'start of month') AS metric_time__month,
    CAST(SUM(events_per_day.active_users) AS REAL) / MAX(
      CAST((JULIANDAY(MIN(
        COALESCE(
          events_per_day_bounds.last_day,
          DATE(
            MIN(
              DATE(events_per_day.period_start, 'start of month', '+1 months'),
              DATE(events_per_day.period_start, 'start of month', 'start of month', '+2 months', '-1 day')
            ),
            '-1 days'
          )
        ),
        COALESCE(
          DATE(
            MIN(
              DATE(events_per_day.period_start, 'start of month', '+1 months'),
              DATE(events_per_day.period_start, 'start of month', 'start of month', '+2 months', '-1 day')
            ),
            '-1 days'
          ),
          events_per_day_bounds.last_day
        )
      )) - JULIANDAY(MAX(
        COALESCE(
          events_per_day_bounds.first_day,
          DATE(events_per_day.period_start, 'start of month')
        ),
        COALESCE(
          DATE(events_per_day.period_start, 'start of month'),
          events_per_day_bounds.first_day
        )
      ))) AS INTEGER) + 1
    ) AS active_users
  FROM events_per_day
  CROSS JOIN events_per_day_bounds
  WHERE
    NOT events_per_day.period_start IS NULL
  GROUP BY
    DATE(events_per_day.period_start, 'start of month')
)
SELECT
  events_per_day_rollup.metric_time__month AS metric_time__month,
  COALESCE(events_per_day_rollup.active_users, 0) AS daily_active_users
FROM events_per_day_rollup
ORDER BY
  metric_time__month NULLS LAST

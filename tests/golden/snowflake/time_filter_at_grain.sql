WITH events_per_day AS (
  SELECT
    CAST(events.occurred_at AS DATE) AS period_start,
    COUNT(DISTINCT events.user_id) AS active_users
  FROM events AS events
  LEFT JOIN users AS users
    ON events.user_id = users.user_id
  WHERE
    CAST(DATE_TRUNC('MONTH', CAST(users.signed_up_at AS DATE)) AS DATE) = CAST('2026-02-01' AS DATE)
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
    CAST(DATE_TRUNC('MONTH', CAST(events_per_day.period_start AS DATE)) AS DATE) AS metric_time__month,
    CAST(SUM(events_per_day.active_users) AS DOUBLE) / MAX(
      DATEDIFF(
        DAY,
        GREATEST_IGNORE_NULLS(
          events_per_day_bounds.first_day,
          CAST(DATE_TRUNC('MONTH', CAST(events_per_day.period_start AS DATE)) AS DATE)
        ),
        LEAST_IGNORE_NULLS(
          events_per_day_bounds.last_day,
          CAST(DATEADD(
            DAY,
            1 * -1,
            DATEADD(
              MONTH,
              1,
              CAST(DATE_TRUNC('MONTH', CAST(events_per_day.period_start AS DATE)) AS DATE)
            )
          ) AS DATE)
        )
      ) + 1
    ) AS active_users
  FROM events_per_day
  CROSS JOIN events_per_day_bounds
  WHERE
    NOT events_per_day.period_start IS NULL
  GROUP BY
    CAST(DATE_TRUNC('MONTH', CAST(events_per_day.period_start AS DATE)) AS DATE)
)
SELECT
  events_per_day_rollup.metric_time__month AS metric_time__month,
  COALESCE(events_per_day_rollup.active_users, 0) AS daily_active_users
FROM events_per_day_rollup
ORDER BY
  metric_time__month

WITH events_per_day_periods AS (
  SELECT
    CAST(STR_TO_DATE(
      CONCAT(YEAR(CAST(events.occurred_at AS DATE)), ' ', MONTH(CAST(events.occurred_at AS DATE)), ' 1'),
      '%Y %c %e'
    ) AS DATE) AS metric_time__month,
    COUNT(DISTINCT CAST(events.occurred_at AS DATE)) AS period_count
  FROM events AS events
  GROUP BY
    CAST(STR_TO_DATE(
      CONCAT(YEAR(CAST(events.occurred_at AS DATE)), ' ', MONTH(CAST(events.occurred_at AS DATE)), ' 1'),
      '%Y %c %e'
    ) AS DATE)
), events_per_day AS (
  SELECT
    CAST(STR_TO_DATE(
      CONCAT(YEAR(CAST(events.occurred_at AS DATE)), ' ', MONTH(CAST(events.occurred_at AS DATE)), ' 1'),
      '%Y %c %e'
    ) AS DATE) AS metric_time__month,
    CAST(events.occurred_at AS DATE) AS period_start,
    COUNT(DISTINCT CAST(events.user_id AS BINARY)) AS active_users
  FROM events AS events
  LEFT JOIN users AS users
    ON events.user_id = users.user_id
  WHERE
    CAST(STR_TO_DATE(
      CONCAT(YEAR(CAST(users.signed_up_at AS DATE)), ' ', MONTH(CAST(users.signed_up_at AS DATE)), ' 1'),
      '%Y %c %e'
    ) AS DATE) = CAST('2026-02-01' AS DATE)
    AND NOT events.event_type IN (CAST('email_open' AS BINARY), CAST('login_failed' AS BINARY))
  GROUP BY
    CAST(STR_TO_DATE(
      CONCAT(YEAR(CAST(events.occurred_at AS DATE)), ' ', MONTH(CAST(events.occurred_at AS DATE)), ' 1'),
      '%Y %c %e'
    ) AS DATE),
    CAST(events.occurred_at AS DATE)
), events_per_day_rollup AS (
  SELECT
    events_per_day.metric_time__month,
    CAST(SUM(events_per_day.active_users) AS DOUBLE) / MAX(events_per_day_periods.period_count) AS active_users
  FROM events_per_day
  INNER JOIN events_per_day_periods
    ON events_per_day.metric_time__month = events_per_day_periods.metric_time__month
  GROUP BY
    events_per_day.metric_time__month,
    CAST(events_per_day.metric_time__month AS BINARY)
)
SELECT
  events_per_day_rollup.metric_time__month AS metric_time__month,
  COALESCE(events_per_day_rollup.active_users, 0) AS daily_active_users
FROM events_per_day_rollup
ORDER BY
  CASE WHEN events_per_day_rollup.metric_time__month IS NULL THEN 1 ELSE 0 END, events_per_day_rollup.metric_time__month

WITH users_agg AS (
  SELECT
    CAST((
      CAST(STRFTIME('%w', DATE(users.signed_up_at)) AS INTEGER) + 6
    ) % 7 + 1 AS INTEGER) AS metric_time__day_of_week,
    CAST((
      CAST(STRFTIME('%j', DATE(users.signed_up_at, '-3 days', 'weekday 4')) AS INTEGER) - 1
    ) / 7 + 1 AS INTEGER) AS metric_time__week_of_year,
    CAST(CAST(STRFTIME('%H', users.signed_up_at) AS INTEGER) AS INTEGER) AS metric_time__hour_of_day,
    COUNT(*) AS signups
  FROM users AS users
  WHERE
    CAST(CAST(STRFTIME('%j', DATE(users.signed_up_at)) AS INTEGER) AS INTEGER) <= 90
    AND CAST(CAST(STRFTIME('%m', DATE(users.signed_up_at)) AS INTEGER) AS INTEGER) IN (1, 2)
  GROUP BY
    CAST((
      CAST(STRFTIME('%w', DATE(users.signed_up_at)) AS INTEGER) + 6
    ) % 7 + 1 AS INTEGER),
    CAST((
      CAST(STRFTIME('%j', DATE(users.signed_up_at, '-3 days', 'weekday 4')) AS INTEGER) - 1
    ) / 7 + 1 AS INTEGER),
    CAST(CAST(STRFTIME('%H', users.signed_up_at) AS INTEGER) AS INTEGER)
)
SELECT
  users_agg.metric_time__day_of_week AS metric_time__day_of_week,
  users_agg.metric_time__week_of_year AS metric_time__week_of_year,
  users_agg.metric_time__hour_of_day AS metric_time__hour_of_day,
  COALESCE(users_agg.signups, 0) AS signups
FROM users_agg
ORDER BY
  metric_time__day_of_week NULLS LAST,
  metric_time__week_of_year NULLS LAST,
  metric_time__hour_of_day NULLS LAST

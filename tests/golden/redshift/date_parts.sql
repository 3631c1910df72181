WITH users_agg AS (
  SELECT
    CAST((
      EXTRACT(DOW FROM CAST(users.signed_up_at AS DATE)) + 6
    ) % 7 + 1 AS INTEGER) AS metric_time__day_of_week,
    CAST(EXTRACT(WEEK FROM CAST(users.signed_up_at AS DATE)) AS INTEGER) AS metric_time__week_of_year,
    CAST(EXTRACT(HOUR FROM users.signed_up_at) AS INTEGER) AS metric_time__hour_of_day,
    COUNT(*) AS signups
  FROM users AS users
  WHERE
    CAST(EXTRACT(DOY FROM CAST(users.signed_up_at AS DATE)) AS INTEGER) <= 90
    AND CAST(EXTRACT(MONTH FROM CAST(users.signed_up_at AS DATE)) AS INTEGER) IN (1, 2)
  GROUP BY
    CAST((
      EXTRACT(DOW FROM CAST(users.signed_up_at AS DATE)) + 6
    ) % 7 + 1 AS INTEGER),
    CAST(EXTRACT(WEEK FROM CAST(users.signed_up_at AS DATE)) AS INTEGER),
    CAST(EXTRACT(HOUR FROM users.signed_up_at) AS INTEGER)
)
SELECT
  users_agg.metric_time__day_of_week AS metric_time__day_of_week,
  users_agg.metric_time__week_of_year AS metric_time__week_of_year,
  users_agg.metric_time__hour_of_day AS metric_time__hour_of_day,
  COALESCE(users_agg.signups, 0) AS signups
FROM users_agg
ORDER BY
  metric_time__day_of_week,
  metric_time__week_of_year,
  metric_time__hour_of_day

WITH users_agg AS (
  SELECT
    CAST(WEEKDAY(CAST(users.signed_up_at AS DATE)) + 1 AS SIGNED) AS metric_time__day_of_week,
    CAST(WEEK(CAST(users.signed_up_at AS DATE), 3) AS SIGNED) AS metric_time__week_of_year,
    CAST(EXTRACT(HOUR FROM users.signed_up_at) AS SIGNED) AS metric_time__hour_of_day,
    COUNT(*) AS signups
  FROM users AS users
  WHERE
    CAST(DAYOFYEAR(CAST(users.signed_up_at AS DATE)) AS SIGNED) <= 90
    AND CAST(EXTRACT(MONTH FROM CAST(users.signed_up_at AS DATE)) AS SIGNED) IN (1, 2)
  GROUP BY
    CAST(WEEKDAY(CAST(users.signed_up_at AS DATE)) + 1 AS SIGNED),
    CAST(WEEK(CAST(users.signed_up_at AS DATE), 3) AS SIGNED),
    CAST(EXTRACT(HOUR FROM users.signed_up_at) AS SIGNED)
)
SELECT
  users_agg.metric_time__day_of_week AS metric_time__day_of_week,
  users_agg.metric_time__week_of_year AS metric_time__week_of_year,
  users_agg.metric_time__hour_of_day AS metric_time__hour_of_day,
  COALESCE(users_agg.signups, 0) AS signups
FROM users_agg
ORDER BY
  CASE WHEN users_agg.metric_time__day_of_week IS NULL THEN 1 ELSE 0 END, users_agg.metric_time__day_of_week,
  CASE WHEN users_agg.metric_time__week_of_year IS NULL THEN 1 ELSE 0 END, users_agg.metric_time__week_of_year,
  CASE WHEN users_agg.metric_time__hour_of_day IS NULL THEN 1 ELSE 0 END, users_agg.metric_time__hour_of_day

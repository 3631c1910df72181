WITH users_agg AS (
  SELECT
    CAST(DATE_PART(DAYOFWEEKISO, CAST(users.signed_up_at AS DATE)) AS INT) AS metric_time__day_of_week,
    CAST(DATE_PART(WEEKISO, CAST(users.signed_up_at AS DATE)) AS INT) AS metric_time__week_of_year,
    CAST(DATE_PART(HOUR, users.signed_up_at) AS INT) AS metric_time__hour_of_day,
    COUNT(*) AS signups
  FROM users AS users
  WHERE
    CAST(DATE_PART(DAYOFYEAR, CAST(users.signed_up_at AS DATE)) AS INT) <= 90
    AND CAST(DATE_PART(MONTH, CAST(users.signed_up_at AS DATE)) AS INT) IN (1, 2)
  GROUP BY
    CAST(DATE_PART(DAYOFWEEKISO, CAST(users.signed_up_at AS DATE)) AS INT),
    CAST(DATE_PART(WEEKISO, CAST(users.signed_up_at AS DATE)) AS INT),
    CAST(DATE_PART(HOUR, users.signed_up_at) AS INT)
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

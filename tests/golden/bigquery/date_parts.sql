WITH users_agg AS (
  SELECT
    CAST(MOD(EXTRACT(DAYOFWEEK FROM CAST(users.signed_up_at AS DATE)) + 5, 7) + 1 AS INT64) AS metric_time__day_of_week,
    CAST(EXTRACT(ISOWEEK FROM CAST(users.signed_up_at AS DATE)) AS INT64) AS metric_time__week_of_year,
    CAST(EXTRACT(HOUR FROM users.signed_up_at) AS INT64) AS metric_time__hour_of_day,
    COUNT(*) AS signups
  FROM users AS users
  WHERE
    CAST(EXTRACT(DAYOFYEAR FROM CAST(users.signed_up_at AS DATE)) AS INT64) <= 90
    AND CAST(EXTRACT(MONTH FROM CAST(users.signed_up_at AS DATE)) AS INT64) IN (1, 2)
  GROUP BY
    CAST(MOD(EXTRACT(DAYOFWEEK FROM CAST(users.signed_up_at AS DATE)) + 5, 7) + 1 AS INT64),
    CAST(EXTRACT(ISOWEEK FROM CAST(users.signed_up_at AS DATE)) AS INT64),
    CAST(EXTRACT(HOUR FROM users.signed_up_at) AS INT64)
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

WITH users_agg AS (
  SELECT
    CAST(DATE_SUB(
      CAST(users.signed_up_at AS DATE),
      INTERVAL (DAYOFMONTH(CAST(users.signed_up_at AS DATE)) - 1) DAY
    ) AS DATE) AS metric_time__month,
    COUNT(*) AS signups
  FROM users AS users
  GROUP BY
    CAST(DATE_SUB(
      CAST(users.signed_up_at AS DATE),
      INTERVAL (DAYOFMONTH(CAST(users.signed_up_at AS DATE)) - 1) DAY
    ) AS DATE)
)
SELECT
  users_agg.metric_time__month AS metric_time__month,
  COALESCE(users_agg.signups, 0) AS signups
FROM users_agg
ORDER BY
  CASE WHEN users_agg.metric_time__month IS NULL THEN 1 ELSE 0 END, users_agg.metric_time__month

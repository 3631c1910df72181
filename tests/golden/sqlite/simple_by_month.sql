WITH users_agg AS (
  SELECT
    DATE(users.signed_up_at, 'start of month') AS metric_time__month,
    COUNT(*) AS signups
  FROM users AS users
  GROUP BY
    DATE(users.signed_up_at, 'start of month')
)
SELECT
  users_agg.metric_time__month AS metric_time__month,
  COALESCE(users_agg.signups, 0) AS signups
FROM users_agg
ORDER BY
  metric_time__month NULLS LAST

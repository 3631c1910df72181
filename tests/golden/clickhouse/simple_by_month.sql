WITH users_agg AS (
  SELECT
    toDate32(dateTrunc('MONTH', toDate32(users.signed_up_at))) AS metric_time__month,
    COUNT(*) AS signups
  FROM users AS users
  GROUP BY
    toDate32(dateTrunc('MONTH', toDate32(users.signed_up_at)))
)
SELECT
  users_agg.metric_time__month AS metric_time__month,
  COALESCE(users_agg.signups, 0) AS signups
FROM users_agg
ORDER BY
  metric_time__month

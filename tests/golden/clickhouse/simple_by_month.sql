WITH users_agg AS (
  SELECT
    CAST(dateTrunc('MONTH', CAST(users.signed_up_at AS Nullable(Date32))) AS Nullable(Date32)) AS metric_time__month,
    COUNT(*) AS signups
  FROM users AS users
  GROUP BY
    CAST(dateTrunc('MONTH', CAST(users.signed_up_at AS Nullable(Date32))) AS Nullable(Date32))
)
SELECT
  users_agg.metric_time__month AS metric_time__month,
  COALESCE(users_agg.signups, 0) AS signups
FROM users_agg
ORDER BY
  metric_time__month

SELECT
  toDate32(dateTrunc('MONTH', toDate32(users.signed_up_at))) AS metric_time__month,
  COALESCE(COUNT(*), 0) AS signups
FROM users AS users
GROUP BY
  toDate32(dateTrunc('MONTH', toDate32(users.signed_up_at)))
ORDER BY
  metric_time__month

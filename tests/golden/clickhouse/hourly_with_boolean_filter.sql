WITH user_payments_source AS (
  SELECT
    users.user_id,
    COALESCE(
      users.user_id IN (
        SELECT
          subscriptions.user_id
        FROM subscriptions
      ),
      FALSE
    ) AS ever_paid
  FROM users
)
SELECT
  CAST(dateTrunc('HOUR', users.signed_up_at) AS Nullable(DateTime64(6))) AS metric_time__hour,
  COALESCE(COUNT(*), 0) AS signups
FROM users AS users
LEFT JOIN user_payments_source AS user_payments
  ON users.user_id = user_payments.user_id
WHERE
  user_payments.ever_paid
  AND toDate32(users.signed_up_at) BETWEEN CAST('2026-03-01' AS Nullable(Date32)) AND CAST('2026-03-01' AS Nullable(Date32))
GROUP BY
  CAST(dateTrunc('HOUR', users.signed_up_at) AS Nullable(DateTime64(6)))
ORDER BY
  metric_time__hour

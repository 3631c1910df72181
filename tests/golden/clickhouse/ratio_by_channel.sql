WITH user_payments_source AS (
  SELECT
    users.user_id,
    users.signed_up_at,
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
  toDate32(dateTrunc('QUARTER', toDate32(user_payments.signed_up_at))) AS metric_time__quarter,
  users.acquisition_channel AS user__acquisition_channel,
  CAST(COALESCE(SUM(CASE WHEN user_payments.ever_paid THEN 1 ELSE 0 END), 0) AS Nullable(Float64)) / nullIf(COALESCE(COUNT(*), 0), 0) AS paid_conversion_rate
FROM user_payments_source AS user_payments
LEFT JOIN users AS users
  ON user_payments.user_id = users.user_id
GROUP BY
  toDate32(dateTrunc('QUARTER', toDate32(user_payments.signed_up_at))),
  users.acquisition_channel
ORDER BY
  metric_time__quarter,
  user__acquisition_channel

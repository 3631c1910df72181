WITH user_payments_source AS (
  SELECT
    users.user_id,
    users.signed_up_at,
    EXISTS(
      SELECT
        1
      FROM subscriptions
      WHERE
        subscriptions.user_id = users.user_id
    ) AS ever_paid,
    (
      SELECT
        MIN(subscriptions.started_at)
      FROM subscriptions
      WHERE
        subscriptions.user_id = users.user_id
    ) AS first_paid_at
  FROM users
), users_agg AS (
  SELECT
    CAST(DATE_TRUNC('HOUR', users.signed_up_at) AS TIMESTAMP) AS metric_time__hour,
    COUNT(*) AS signups
  FROM users AS users
  LEFT JOIN user_payments_source AS user_payments
    ON users.user_id = user_payments.user_id
  WHERE
    user_payments.ever_paid
    AND users.signed_up_at >= CAST('2026-03-01' AS TIMESTAMP)
    AND users.signed_up_at < CAST('2026-03-01' AS TIMESTAMP) + INTERVAL '1' DAY
  GROUP BY
    CAST(DATE_TRUNC('HOUR', users.signed_up_at) AS TIMESTAMP)
)
SELECT
  users_agg.metric_time__hour AS metric_time__hour,
  COALESCE(users_agg.signups, 0) AS signups
FROM users_agg
ORDER BY
  metric_time__hour

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
    CAST(DATE_ADD(
      '0000-01-01 00:00:00',
      INTERVAL (TIMESTAMPDIFF(HOUR, '0000-01-01 00:00:00', users.signed_up_at)) HOUR
    ) AS DATETIME) AS metric_time__hour,
    COUNT(*) AS signups
  FROM users AS users
  LEFT JOIN user_payments_source AS user_payments
    ON users.user_id = user_payments.user_id
  WHERE
    user_payments.ever_paid
    AND users.signed_up_at >= CAST('2026-03-01' AS DATETIME)
    AND users.signed_up_at < CAST('2026-03-01' AS DATETIME) + INTERVAL '1' DAY
  GROUP BY
    CAST(DATE_ADD(
      '0000-01-01 00:00:00',
      INTERVAL (TIMESTAMPDIFF(HOUR, '0000-01-01 00:00:00', users.signed_up_at)) HOUR
    ) AS DATETIME)
)
SELECT
  users_agg.metric_time__hour AS metric_time__hour,
  COALESCE(users_agg.signups, 0) AS signups
FROM users_agg
ORDER BY
  CASE WHEN users_agg.metric_time__hour IS NULL THEN 1 ELSE 0 END, users_agg.metric_time__hour

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
), user_payments_agg AS (
  SELECT
    CAST(DATE_ADD(
      MAKEDATE(YEAR(CAST(user_payments.signed_up_at AS DATE)), 1),
      INTERVAL (QUARTER(CAST(user_payments.signed_up_at AS DATE)) - 1) QUARTER
    ) AS DATE) AS metric_time__quarter,
    users.acquisition_channel AS user__acquisition_channel,
    SUM(CASE WHEN user_payments.ever_paid THEN 1 ELSE 0 END) AS converted_signups,
    COUNT(*) AS signups
  FROM user_payments_source AS user_payments
  LEFT JOIN users AS users
    ON user_payments.user_id = users.user_id
  GROUP BY
    CAST(DATE_ADD(
      MAKEDATE(YEAR(CAST(user_payments.signed_up_at AS DATE)), 1),
      INTERVAL (QUARTER(CAST(user_payments.signed_up_at AS DATE)) - 1) QUARTER
    ) AS DATE),
    users.acquisition_channel,
    CAST(users.acquisition_channel AS BINARY)
)
SELECT
  user_payments_agg.metric_time__quarter AS metric_time__quarter,
  user_payments_agg.user__acquisition_channel AS user__acquisition_channel,
  CAST(COALESCE(user_payments_agg.converted_signups, 0) AS DOUBLE) / NULLIF(COALESCE(user_payments_agg.signups, 0), 0) AS paid_conversion_rate
FROM user_payments_agg
ORDER BY
  CASE WHEN user_payments_agg.metric_time__quarter IS NULL THEN 1 ELSE 0 END, user_payments_agg.metric_time__quarter,
  CASE WHEN user_payments_agg.user__acquisition_channel IS NULL THEN 1 ELSE 0 END, user_payments_agg.user__acquisition_channel

WITH users_source AS (
  SELECT
    users.*,
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
    CAST(dateTrunc('QUARTER', CAST(users.signed_up_at AS Nullable(Date32))) AS Nullable(Date32)) AS metric_time__quarter,
    users.acquisition_channel AS user__acquisition_channel,
    SUM(CASE WHEN users.ever_paid THEN 1 ELSE 0 END) AS converted_signups,
    COUNT(*) AS signups
  FROM users_source AS users
  GROUP BY
    CAST(dateTrunc('QUARTER', CAST(users.signed_up_at AS Nullable(Date32))) AS Nullable(Date32)),
    users.acquisition_channel
)
SELECT
  users_agg.metric_time__quarter AS metric_time__quarter,
  users_agg.user__acquisition_channel AS user__acquisition_channel,
  CAST(COALESCE(users_agg.converted_signups, 0) AS Nullable(Float64)) / nullIf(COALESCE(users_agg.signups, 0), 0) AS paid_conversion_rate
FROM users_agg
ORDER BY
  metric_time__quarter,
  user__acquisition_channel

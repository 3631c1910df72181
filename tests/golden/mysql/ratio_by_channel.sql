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
    CAST(STR_TO_DATE(
      CONCAT(YEAR(CAST(users.signed_up_at AS DATE)), ' ', QUARTER(CAST(users.signed_up_at AS DATE)) * 3 - 2, ' 1'),
      '%Y %c %e'
    ) AS DATE) AS metric_time__quarter,
    users.acquisition_channel AS user__acquisition_channel,
    SUM(CASE WHEN users.ever_paid THEN 1 ELSE 0 END) AS converted_signups,
    COUNT(*) AS signups
  FROM users_source AS users
  GROUP BY
    CAST(STR_TO_DATE(
      CONCAT(YEAR(CAST(users.signed_up_at AS DATE)), ' ', QUARTER(CAST(users.signed_up_at AS DATE)) * 3 - 2, ' 1'),
      '%Y %c %e'
    ) AS DATE),
    users.acquisition_channel,
    CAST(users.acquisition_channel AS BINARY)
)
SELECT
  users_agg.metric_time__quarter AS metric_time__quarter,
  users_agg.user__acquisition_channel AS user__acquisition_channel,
  CAST(COALESCE(users_agg.converted_signups, 0) AS DOUBLE) / NULLIF(COALESCE(users_agg.signups, 0), 0) AS paid_conversion_rate
FROM users_agg
ORDER BY
  CASE WHEN users_agg.metric_time__quarter IS NULL THEN 1 ELSE 0 END, users_agg.metric_time__quarter,
  CASE WHEN users_agg.user__acquisition_channel IS NULL THEN 1 ELSE 0 END, users_agg.user__acquisition_channel

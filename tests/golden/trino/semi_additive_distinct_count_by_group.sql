WITH subscription_snapshots_last_snapshot_days AS (
  SELECT
    users.plan AS user__plan,
    CAST(subscription_snapshots.snapshot_date AS DATE) AS snapshot_day,
    SUM(
      CASE
        WHEN subscription_snapshots.user_id IN (
          SELECT
            users_keys.user_id
          FROM users AS users_keys
          WHERE
            users_keys.country = 'DE'
        )
        THEN subscription_snapshots.mrr
      END
    ) AS mrr,
    COUNT(
      DISTINCT CASE
        WHEN subscription_snapshots.user_id IN (
          SELECT
            users_keys.user_id
          FROM users AS users_keys
          WHERE
            users_keys.country = 'DE'
        )
        THEN subscription_snapshots.user_id
      END
    ) AS paying_customers,
    COUNT(
      CASE
        WHEN subscription_snapshots.user_id IN (
          SELECT
            users_keys.user_id
          FROM users AS users_keys
          WHERE
            users_keys.country = 'DE'
        )
        THEN 1
      END
    ) AS kept_rows
  FROM subscription_snapshots AS subscription_snapshots
  LEFT JOIN users AS users
    ON subscription_snapshots.user_id = users.user_id
  WHERE
    CAST(subscription_snapshots.snapshot_date AS DATE) BETWEEN CAST('2026-01-05' AS DATE) AND CAST('2026-03-29' AS DATE)
  GROUP BY
    users.plan,
    CAST(subscription_snapshots.snapshot_date AS DATE)
), subscription_snapshots_last_snapshot_periods AS (
  SELECT
    CAST(DATE_TRUNC('WEEK', CAST(subscription_snapshots_last_snapshot_days.snapshot_day AS DATE)) AS DATE) AS metric_time__week,
    subscription_snapshots_last_snapshot_days.user__plan AS user__plan,
    subscription_snapshots_last_snapshot_days.mrr,
    subscription_snapshots_last_snapshot_days.paying_customers,
    subscription_snapshots_last_snapshot_days.snapshot_day,
    subscription_snapshots_last_snapshot_days.kept_rows,
    MAX(subscription_snapshots_last_snapshot_days.snapshot_day) OVER (
      PARTITION BY CAST(DATE_TRUNC('WEEK', CAST(subscription_snapshots_last_snapshot_days.snapshot_day AS DATE)) AS DATE)
    ) AS last_period
  FROM subscription_snapshots_last_snapshot_days
), subscription_snapshots_last_snapshot AS (
  SELECT
    subscription_snapshots_last_snapshot_periods.metric_time__week,
    subscription_snapshots_last_snapshot_periods.user__plan,
    subscription_snapshots_last_snapshot_periods.mrr,
    subscription_snapshots_last_snapshot_periods.paying_customers
  FROM subscription_snapshots_last_snapshot_periods
  WHERE
    subscription_snapshots_last_snapshot_periods.snapshot_day = subscription_snapshots_last_snapshot_periods.last_period
    AND subscription_snapshots_last_snapshot_periods.kept_rows > 0
)
SELECT
  subscription_snapshots_last_snapshot.metric_time__week AS metric_time__week,
  subscription_snapshots_last_snapshot.user__plan AS user__plan,
  CAST(subscription_snapshots_last_snapshot.mrr AS DOUBLE) / NULLIF(COALESCE(subscription_snapshots_last_snapshot.paying_customers, 0), 0) AS arpu
FROM subscription_snapshots_last_snapshot
ORDER BY
  metric_time__week,
  user__plan

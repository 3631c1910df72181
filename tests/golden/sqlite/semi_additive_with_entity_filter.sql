WITH subscription_snapshots_last_snapshot_days_written AS (
  SELECT
    subscription_snapshots.snapshot_date AS snapshot_day,
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
  WHERE
    subscription_snapshots.snapshot_date >= DATE('2026-01-05', '-1 day')
    AND subscription_snapshots.snapshot_date < DATE('2026-03-29', '+2 days')
  GROUP BY
    subscription_snapshots.snapshot_date
), subscription_snapshots_last_snapshot_days AS (
  SELECT
    DATE(subscription_snapshots_last_snapshot_days_written.snapshot_day) AS snapshot_day,
    SUM(subscription_snapshots_last_snapshot_days_written.mrr) AS mrr,
    SUM(subscription_snapshots_last_snapshot_days_written.kept_rows) AS kept_rows
  FROM subscription_snapshots_last_snapshot_days_written
  WHERE
    DATE(subscription_snapshots_last_snapshot_days_written.snapshot_day) BETWEEN DATE('2026-01-05') AND DATE('2026-03-29')
  GROUP BY
    DATE(subscription_snapshots_last_snapshot_days_written.snapshot_day)
), subscription_snapshots_last_snapshot_periods AS (
  SELECT
    DATE(subscription_snapshots_last_snapshot_days.snapshot_day, '-6 days', 'weekday 1') AS metric_time__week,
    subscription_snapshots_last_snapshot_days.mrr,
    subscription_snapshots_last_snapshot_days.snapshot_day,
    subscription_snapshots_last_snapshot_days.kept_rows,
    MAX(subscription_snapshots_last_snapshot_days.snapshot_day) OVER (
      PARTITION BY DATE(subscription_snapshots_last_snapshot_days.snapshot_day, '-6 days', 'weekday 1')
    ) AS last_period
  FROM subscription_snapshots_last_snapshot_days
), subscription_snapshots_last_snapshot AS (
  SELECT
    subscription_snapshots_last_snapshot_periods.metric_time__week,
    subscription_snapshots_last_snapshot_periods.mrr
  FROM subscription_snapshots_last_snapshot_periods
  WHERE
    subscription_snapshots_last_snapshot_periods.snapshot_day = subscription_snapshots_last_snapshot_periods.last_period
    AND subscription_snapshots_last_snapshot_periods.kept_rows > 0
)
SELECT
  subscription_snapshots_last_snapshot.metric_time__week AS metric_time__week,
  subscription_snapshots_last_snapshot.mrr AS mrr
FROM subscription_snapshots_last_snapshot
ORDER BY
  metric_time__week NULLS LAST

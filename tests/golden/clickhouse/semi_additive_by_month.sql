WITH subscription_snapshots_last_snapshot_days AS (
  SELECT
    toDate32(subscription_snapshots.snapshot_date) AS snapshot_day,
    SUM(subscription_snapshots.mrr) AS mrr,
    COUNT(DISTINCT subscription_snapshots.user_id) AS paying_customers
  FROM subscription_snapshots AS subscription_snapshots
  GROUP BY
    toDate32(subscription_snapshots.snapshot_date)
), subscription_snapshots_last_snapshot_periods AS (
  SELECT
    toDate32(
      dateTrunc('MONTH', toDate32(subscription_snapshots_last_snapshot_days.snapshot_day))
    ) AS metric_time__month,
    subscription_snapshots_last_snapshot_days.mrr,
    subscription_snapshots_last_snapshot_days.paying_customers,
    subscription_snapshots_last_snapshot_days.snapshot_day,
    MAX(subscription_snapshots_last_snapshot_days.snapshot_day) OVER (
      PARTITION BY toDate32(
        dateTrunc('MONTH', toDate32(subscription_snapshots_last_snapshot_days.snapshot_day))
      )
    ) AS last_period
  FROM subscription_snapshots_last_snapshot_days
), subscription_snapshots_last_snapshot AS (
  SELECT
    subscription_snapshots_last_snapshot_periods.metric_time__month,
    subscription_snapshots_last_snapshot_periods.mrr,
    subscription_snapshots_last_snapshot_periods.paying_customers
  FROM subscription_snapshots_last_snapshot_periods
  WHERE
    subscription_snapshots_last_snapshot_periods.snapshot_day = subscription_snapshots_last_snapshot_periods.last_period
)
SELECT
  subscription_snapshots_last_snapshot.metric_time__month AS metric_time__month,
  subscription_snapshots_last_snapshot.mrr AS mrr,
  CAST(subscription_snapshots_last_snapshot.mrr AS Nullable(Float64)) / nullIf(COALESCE(subscription_snapshots_last_snapshot.paying_customers, 0), 0) AS arpu
FROM subscription_snapshots_last_snapshot
ORDER BY
  metric_time__month

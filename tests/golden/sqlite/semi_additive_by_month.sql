WITH subscription_snapshots_last_snapshot_periods AS (
  SELECT
    DATE(subscription_snapshots.snapshot_date, 'start of month') AS metric_time__month,
    MAX(DATE(subscription_snapshots.snapshot_date)) AS last_period
  FROM subscription_snapshots AS subscription_snapshots
  GROUP BY
    DATE(subscription_snapshots.snapshot_date, 'start of month')
), subscription_snapshots_last_snapshot AS (
  SELECT
    DATE(subscription_snapshots.snapshot_date, 'start of month') AS metric_time__month,
    SUM(subscription_snapshots.mrr) AS mrr,
    COUNT(DISTINCT subscription_snapshots.user_id) AS paying_customers
  FROM subscription_snapshots AS subscription_snapshots
  CROSS JOIN subscription_snapshots_last_snapshot_periods
    ON DATE(subscription_snapshots.snapshot_date, 'start of month') = subscription_snapshots_last_snapshot_periods.metric_time__month
    AND DATE(subscription_snapshots.snapshot_date) = subscription_snapshots_last_snapshot_periods.last_period
  GROUP BY
    DATE(subscription_snapshots.snapshot_date, 'start of month')
)
SELECT
  subscription_snapshots_last_snapshot.metric_time__month AS metric_time__month,
  subscription_snapshots_last_snapshot.mrr AS mrr,
  CAST(subscription_snapshots_last_snapshot.mrr AS REAL) / NULLIF(COALESCE(subscription_snapshots_last_snapshot.paying_customers, 0), 0) AS arpu
FROM subscription_snapshots_last_snapshot
ORDER BY
  metric_time__month NULLS LAST

WITH subscription_snapshots_last_snapshot_edges AS (
  SELECT
    CAST(DATE_TRUNC('MONTH', CAST(subscription_snapshots.snapshot_date AS DATE)) AS DATE) AS metric_time__month,
    MAX(CAST(subscription_snapshots.snapshot_date AS DATE)) AS last_period
  FROM subscription_snapshots AS subscription_snapshots
  GROUP BY
    CAST(DATE_TRUNC('MONTH', CAST(subscription_snapshots.snapshot_date AS DATE)) AS DATE)
), subscription_snapshots_last_snapshot AS (
  SELECT
    subscription_snapshots_last_snapshot_edges.metric_time__month AS metric_time__month,
    SUM(subscription_snapshots.mrr) AS mrr,
    COUNT(DISTINCT subscription_snapshots.user_id) AS paying_customers
  FROM subscription_snapshots AS subscription_snapshots
  INNER JOIN subscription_snapshots_last_snapshot_edges
    ON CAST(subscription_snapshots.snapshot_date AS DATE) = subscription_snapshots_last_snapshot_edges.last_period
  GROUP BY
    subscription_snapshots_last_snapshot_edges.metric_time__month
)
SELECT
  subscription_snapshots_last_snapshot.metric_time__month AS metric_time__month,
  subscription_snapshots_last_snapshot.mrr AS mrr,
  CAST(subscription_snapshots_last_snapshot.mrr AS DOUBLE) / NULLIF(COALESCE(subscription_snapshots_last_snapshot.paying_customers, 0), 0) AS arpu
FROM subscription_snapshots_last_snapshot
ORDER BY
  metric_time__month

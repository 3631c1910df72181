WITH subscription_snapshots_last_snapshot_days AS (
  SELECT
    CAST(subscription_snapshots.snapshot_date AS DATE) AS snapshot_day,
    SUM(subscription_snapshots.mrr) AS mrr,
    COUNT(DISTINCT CAST(subscription_snapshots.user_id AS BINARY)) AS paying_customers
  FROM subscription_snapshots AS subscription_snapshots
  GROUP BY
    CAST(subscription_snapshots.snapshot_date AS DATE)
), subscription_snapshots_last_snapshot_periods AS (
  SELECT
    CAST(DATE_SUB(
      CAST(subscription_snapshots_last_snapshot_days.snapshot_day AS DATE),
      INTERVAL (DAYOFMONTH(CAST(subscription_snapshots_last_snapshot_days.snapshot_day AS DATE)) - 1) DAY
    ) AS DATE) AS metric_time__month,
    subscription_snapshots_last_snapshot_days.mrr,
    subscription_snapshots_last_snapshot_days.paying_customers,
    subscription_snapshots_last_snapshot_days.snapshot_day,
    MAX(subscription_snapshots_last_snapshot_days.snapshot_day) OVER (
      PARTITION BY CAST(DATE_SUB(
        CAST(subscription_snapshots_last_snapshot_days.snapshot_day AS DATE),
        INTERVAL (DAYOFMONTH(CAST(subscription_snapshots_last_snapshot_days.snapshot_day AS DATE)) - 1) DAY
      ) AS DATE)
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
  CAST(subscription_snapshots_last_snapshot.mrr AS DOUBLE) / NULLIF(COALESCE(subscription_snapshots_last_snapshot.paying_customers, 0), 0) AS arpu
FROM subscription_snapshots_last_snapshot
ORDER BY
  CASE WHEN subscription_snapshots_last_snapshot.metric_time__month IS NULL THEN 1 ELSE 0 END, subscription_snapshots_last_snapshot.metric_time__month

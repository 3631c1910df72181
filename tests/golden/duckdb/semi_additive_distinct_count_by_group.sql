WITH subscription_snapshots_last_snapshot_edges AS (
  SELECT
    CAST(DATE_TRUNC('WEEK', CAST(subscription_snapshots.snapshot_date AS DATE)) AS DATE) AS metric_time__week,
    MAX(CAST(subscription_snapshots.snapshot_date AS DATE)) AS last_period
  FROM subscription_snapshots AS subscription_snapshots
  WHERE
    subscription_snapshots.snapshot_date >= CAST('2026-01-05' AS TIMESTAMP)
    AND subscription_snapshots.snapshot_date < CAST('2026-03-29' AS TIMESTAMP) + INTERVAL '1' DAY
  GROUP BY
    CAST(DATE_TRUNC('WEEK', CAST(subscription_snapshots.snapshot_date AS DATE)) AS DATE)
), subscription_snapshots_last_snapshot AS (
  SELECT
    subscription_snapshots_last_snapshot_edges.metric_time__week AS metric_time__week,
    users.plan AS user__plan,
    SUM(subscription_snapshots.mrr) AS mrr,
    COUNT(DISTINCT subscription_snapshots.user_id) AS paying_customers
  FROM subscription_snapshots AS subscription_snapshots
  INNER JOIN subscription_snapshots_last_snapshot_edges
    ON CAST(subscription_snapshots.snapshot_date AS DATE) = subscription_snapshots_last_snapshot_edges.last_period
  LEFT JOIN users AS users
    ON subscription_snapshots.user_id = users.user_id
  WHERE
    subscription_snapshots.snapshot_date >= CAST('2026-01-05' AS TIMESTAMP)
    AND subscription_snapshots.snapshot_date < CAST('2026-03-29' AS TIMESTAMP) + INTERVAL '1' DAY
    AND subscription_snapshots.user_id IN (
      SELECT
        users_keys.user_id
      FROM users AS users_keys
      WHERE
        users_keys.country = 'DE'
    )
  GROUP BY
    subscription_snapshots_last_snapshot_edges.metric_time__week,
    users.plan
)
SELECT
  subscription_snapshots_last_snapshot.metric_time__week AS metric_time__week,
  subscription_snapshots_last_snapshot.user__plan AS user__plan,
  CAST(subscription_snapshots_last_snapshot.mrr AS DOUBLE) / NULLIF(COALESCE(subscription_snapshots_last_snapshot.paying_customers, 0), 0) AS arpu
FROM subscription_snapshots_last_snapshot
ORDER BY
  metric_time__week,
  user__plan

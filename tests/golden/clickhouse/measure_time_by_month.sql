WITH subscriptions_agg AS (
  SELECT
    toDate32(dateTrunc('MONTH', toDate32(subscriptions.started_at))) AS metric_time__month,
    SUM(subscriptions.mrr) AS new_mrr
  FROM subscriptions AS subscriptions
  WHERE
    toDate32(subscriptions.started_at) BETWEEN CAST('2026-01-01' AS Nullable(Date32)) AND CAST('2026-03-31' AS Nullable(Date32))
  GROUP BY
    toDate32(dateTrunc('MONTH', toDate32(subscriptions.started_at)))
), subscriptions_by_ended_at_agg AS (
  SELECT
    toDate32(dateTrunc('MONTH', toDate32(subscriptions.ended_at))) AS metric_time__month,
    COUNT(*) AS cancelled_subscriptions,
    SUM(subscriptions.mrr) AS churned_mrr
  FROM subscriptions AS subscriptions
  WHERE
    NOT (
      subscriptions.ended_at IS NULL
    )
    AND toDate32(subscriptions.ended_at) BETWEEN CAST('2026-01-01' AS Nullable(Date32)) AND CAST('2026-03-31' AS Nullable(Date32))
  GROUP BY
    toDate32(dateTrunc('MONTH', toDate32(subscriptions.ended_at)))
), grain_keys AS (
  SELECT
    subscriptions_agg.metric_time__month
  FROM subscriptions_agg
  UNION DISTINCT
  SELECT
    subscriptions_by_ended_at_agg.metric_time__month
  FROM subscriptions_by_ended_at_agg
)
SELECT
  grain_keys.metric_time__month AS metric_time__month,
  subscriptions_agg.new_mrr AS new_mrr,
  COALESCE(subscriptions_by_ended_at_agg.cancelled_subscriptions, 0) AS cancelled_subscriptions,
  subscriptions_agg.new_mrr - COALESCE(subscriptions_by_ended_at_agg.churned_mrr, 0) AS net_new_mrr
FROM grain_keys
LEFT JOIN subscriptions_agg
  ON grain_keys.metric_time__month = subscriptions_agg.metric_time__month
LEFT JOIN subscriptions_by_ended_at_agg
  ON grain_keys.metric_time__month = subscriptions_by_ended_at_agg.metric_time__month
ORDER BY
  metric_time__month

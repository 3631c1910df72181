WITH subscriptions_agg AS (
  SELECT
    DATE(subscriptions.started_at, 'start of month') AS metric_time__month,
    SUM(subscriptions.mrr) AS new_mrr
  FROM subscriptions AS subscriptions
  WHERE
    subscriptions.started_at >= DATE('2026-01-01', '-1 day')
    AND subscriptions.started_at < DATE('2026-03-31', '+2 days')
    AND DATE(subscriptions.started_at) BETWEEN DATE('2026-01-01') AND DATE('2026-03-31')
  GROUP BY
    DATE(subscriptions.started_at, 'start of month')
), subscriptions_by_ended_at_agg AS (
  SELECT
    DATE(subscriptions.ended_at, 'start of month') AS metric_time__month,
    COUNT(*) AS cancelled_subscriptions,
    SUM(subscriptions.mrr) AS churned_mrr
  FROM subscriptions AS subscriptions
  WHERE
    subscriptions.ended_at >= DATE('2026-01-01', '-1 day')
    AND subscriptions.ended_at < DATE('2026-03-31', '+2 days')
    AND NOT subscriptions.ended_at IS NULL
    AND DATE(subscriptions.ended_at) BETWEEN DATE('2026-01-01') AND DATE('2026-03-31')
  GROUP BY
    DATE(subscriptions.ended_at, 'start of month')
), grain_keys AS (
  SELECT
    subscriptions_agg.metric_time__month
  FROM subscriptions_agg
  UNION
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
  metric_time__month NULLS LAST

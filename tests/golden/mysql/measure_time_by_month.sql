WITH subscriptions_agg AS (
  SELECT
    CAST(DATE_SUB(
      CAST(subscriptions.started_at AS DATE),
      INTERVAL (DAYOFMONTH(CAST(subscriptions.started_at AS DATE)) - 1) DAY
    ) AS DATE) AS metric_time__month,
    SUM(subscriptions.mrr) AS new_mrr
  FROM subscriptions AS subscriptions
  WHERE
    subscriptions.started_at >= CAST('2026-01-01' AS DATETIME)
    AND subscriptions.started_at < CAST('2026-03-31' AS DATETIME) + INTERVAL '1' DAY
  GROUP BY
    CAST(DATE_SUB(
      CAST(subscriptions.started_at AS DATE),
      INTERVAL (DAYOFMONTH(CAST(subscriptions.started_at AS DATE)) - 1) DAY
    ) AS DATE)
), subscriptions_by_ended_at_agg AS (
  SELECT
    CAST(DATE_SUB(
      CAST(subscriptions.ended_at AS DATE),
      INTERVAL (DAYOFMONTH(CAST(subscriptions.ended_at AS DATE)) - 1) DAY
    ) AS DATE) AS metric_time__month,
    COUNT(*) AS cancelled_subscriptions,
    SUM(subscriptions.mrr) AS churned_mrr
  FROM subscriptions AS subscriptions
  WHERE
    NOT subscriptions.ended_at IS NULL
    AND subscriptions.ended_at >= CAST('2026-01-01' AS DATETIME)
    AND subscriptions.ended_at < CAST('2026-03-31' AS DATETIME) + INTERVAL '1' DAY
  GROUP BY
    CAST(DATE_SUB(
      CAST(subscriptions.ended_at AS DATE),
      INTERVAL (DAYOFMONTH(CAST(subscriptions.ended_at AS DATE)) - 1) DAY
    ) AS DATE)
), grain_keys AS (
  SELECT
    grain.metric_time__month
  FROM (
    SELECT
      subscriptions_agg.metric_time__month
    FROM subscriptions_agg
    UNION ALL
    SELECT
      subscriptions_by_ended_at_agg.metric_time__month
    FROM subscriptions_by_ended_at_agg
  ) AS grain
  GROUP BY
    grain.metric_time__month,
    CAST(grain.metric_time__month AS BINARY)
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
  CASE WHEN grain_keys.metric_time__month IS NULL THEN 1 ELSE 0 END, grain_keys.metric_time__month

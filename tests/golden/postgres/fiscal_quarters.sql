WITH subscriptions_agg AS (
  SELECT
    CAST(DATE_TRUNC(
      'QUARTER',
      DATE_TRUNC('MONTH', CAST(subscriptions.started_at AS DATE)) - INTERVAL '1 MONTH'
    ) + INTERVAL '1 MONTH' AS DATE) AS metric_time__fiscal_quarter,
    CAST(EXTRACT(YEAR FROM DATE_TRUNC('MONTH', CAST(subscriptions.started_at AS DATE)) + INTERVAL '11 MONTH') AS INT) AS metric_time__fiscal_year_number,
    CAST(EXTRACT(QUARTER FROM DATE_TRUNC('MONTH', CAST(subscriptions.started_at AS DATE)) - INTERVAL '1 MONTH') AS INT) AS metric_time__fiscal_quarter_of_year,
    SUM(subscriptions.mrr) AS new_mrr
  FROM subscriptions AS subscriptions
  WHERE
    CAST(EXTRACT(QUARTER FROM CAST(subscriptions.started_at AS DATE)) AS INT) = 1
    AND CAST(EXTRACT(DAY FROM CAST(subscriptions.started_at AS DATE)) AS INT) < 15
  GROUP BY
    CAST(DATE_TRUNC(
      'QUARTER',
      DATE_TRUNC('MONTH', CAST(subscriptions.started_at AS DATE)) - INTERVAL '1 MONTH'
    ) + INTERVAL '1 MONTH' AS DATE),
    CAST(EXTRACT(YEAR FROM DATE_TRUNC('MONTH', CAST(subscriptions.started_at AS DATE)) + INTERVAL '11 MONTH') AS INT),
    CAST(EXTRACT(QUARTER FROM DATE_TRUNC('MONTH', CAST(subscriptions.started_at AS DATE)) - INTERVAL '1 MONTH') AS INT)
)
SELECT
  subscriptions_agg.metric_time__fiscal_quarter AS metric_time__fiscal_quarter,
  subscriptions_agg.metric_time__fiscal_year_number AS metric_time__fiscal_year_number,
  subscriptions_agg.metric_time__fiscal_quarter_of_year AS metric_time__fiscal_quarter_of_year,
  subscriptions_agg.new_mrr AS new_mrr
FROM subscriptions_agg
ORDER BY
  metric_time__fiscal_quarter,
  metric_time__fiscal_year_number,
  metric_time__fiscal_quarter_of_year

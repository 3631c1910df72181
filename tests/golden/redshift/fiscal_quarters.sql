WITH subscriptions_agg AS (
  SELECT
    CAST(DATEADD(
      MONTH,
      1,
      DATE_TRUNC(
        'QUARTER',
        DATE_TRUNC('MONTH', CAST(subscriptions.started_at AS DATE)) - INTERVAL '1 MONTH'
      )
    ) AS DATE) AS metric_time__fiscal_quarter,
    CAST(EXTRACT(YEAR FROM DATEADD(MONTH, 11, DATE_TRUNC('MONTH', CAST(subscriptions.started_at AS DATE)))) AS INTEGER) AS metric_time__fiscal_year_number,
    CAST(EXTRACT(QUARTER FROM DATE_TRUNC('MONTH', CAST(subscriptions.started_at AS DATE)) - INTERVAL '1 MONTH') AS INTEGER) AS metric_time__fiscal_quarter_of_year,
    SUM(subscriptions.mrr) AS new_mrr
  FROM subscriptions AS subscriptions
  WHERE
    CAST(EXTRACT(QUARTER FROM CAST(subscriptions.started_at AS DATE)) AS INTEGER) = 1
    AND CAST(EXTRACT(DAY FROM CAST(subscriptions.started_at AS DATE)) AS INTEGER) < 15
  GROUP BY
    CAST(DATEADD(
      MONTH,
      1,
      DATE_TRUNC(
        'QUARTER',
        DATE_TRUNC('MONTH', CAST(subscriptions.started_at AS DATE)) - INTERVAL '1 MONTH'
      )
    ) AS DATE),
    CAST(EXTRACT(YEAR FROM DATEADD(MONTH, 11, DATE_TRUNC('MONTH', CAST(subscriptions.started_at AS DATE)))) AS INTEGER),
    CAST(EXTRACT(QUARTER FROM DATE_TRUNC('MONTH', CAST(subscriptions.started_at AS DATE)) - INTERVAL '1 MONTH') AS INTEGER)
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

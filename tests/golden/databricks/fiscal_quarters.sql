WITH subscriptions_agg AS (
  SELECT
    CAST(DATEADD(
      MONTH,
      1,
      TRUNC(ADD_MONTHS(TRUNC(CAST(subscriptions.started_at AS DATE), 'MONTH'), -1), 'QUARTER')
    ) AS DATE) AS metric_time__fiscal_quarter,
    CAST(EXTRACT(YEAR FROM DATEADD(MONTH, 11, TRUNC(CAST(subscriptions.started_at AS DATE), 'MONTH'))) AS INT) AS metric_time__fiscal_year_number,
    CAST(EXTRACT(QUARTER FROM ADD_MONTHS(TRUNC(CAST(subscriptions.started_at AS DATE), 'MONTH'), -1)) AS INT) AS metric_time__fiscal_quarter_of_year,
    SUM(subscriptions.mrr) AS new_mrr
  FROM subscriptions AS subscriptions
  WHERE
    CAST(EXTRACT(QUARTER FROM CAST(subscriptions.started_at AS DATE)) AS INT) = 1
    AND CAST(EXTRACT(DAY FROM CAST(subscriptions.started_at AS DATE)) AS INT) < 15
  GROUP BY
    CAST(DATEADD(
      MONTH,
      1,
      TRUNC(ADD_MONTHS(TRUNC(CAST(subscriptions.started_at AS DATE), 'MONTH'), -1), 'QUARTER')
    ) AS DATE),
    CAST(EXTRACT(YEAR FROM DATEADD(MONTH, 11, TRUNC(CAST(subscriptions.started_at AS DATE), 'MONTH'))) AS INT),
    CAST(EXTRACT(QUARTER FROM ADD_MONTHS(TRUNC(CAST(subscriptions.started_at AS DATE), 'MONTH'), -1)) AS INT)
)
SELECT
  subscriptions_agg.metric_time__fiscal_quarter AS metric_time__fiscal_quarter,
  subscriptions_agg.metric_time__fiscal_year_number AS metric_time__fiscal_year_number,
  subscriptions_agg.metric_time__fiscal_quarter_of_year AS metric_time__fiscal_quarter_of_year,
  subscriptions_agg.new_mrr AS new_mrr
FROM subscriptions_agg
ORDER BY
  metric_time__fiscal_quarter NULLS LAST,
  metric_time__fiscal_year_number NULLS LAST,
  metric_time__fiscal_quarter_of_year NULLS LAST

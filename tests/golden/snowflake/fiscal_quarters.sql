WITH subscriptions_agg AS (
  SELECT
    CAST(DATEADD(
      MONTH,
      1,
      DATE_TRUNC(
        'QUARTER',
        DATEADD(MONTH, 1 * -1, DATE_TRUNC('MONTH', CAST(subscriptions.started_at AS DATE)))
      )
    ) AS DATE) AS metric_time__fiscal_quarter,
    CAST(DATE_PART(
      YEAR,
      DATEADD(MONTH, 11, DATE_TRUNC('MONTH', CAST(subscriptions.started_at AS DATE)))
    ) AS INT) AS metric_time__fiscal_year_number,
    CAST(DATE_PART(
      QUARTER,
      DATEADD(MONTH, 1 * -1, DATE_TRUNC('MONTH', CAST(subscriptions.started_at AS DATE)))
    ) AS INT) AS metric_time__fiscal_quarter_of_year,
    SUM(subscriptions.mrr) AS new_mrr
  FROM subscriptions AS subscriptions
  WHERE
    CAST(DATE_PART(QUARTER, CAST(subscriptions.started_at AS DATE)) AS INT) = 1
    AND CAST(DATE_PART(DAY, CAST(subscriptions.started_at AS DATE)) AS INT) < 15
  GROUP BY
    CAST(DATEADD(
      MONTH,
      1,
      DATE_TRUNC(
        'QUARTER',
        DATEADD(MONTH, 1 * -1, DATE_TRUNC('MONTH', CAST(subscriptions.started_at AS DATE)))
      )
    ) AS DATE),
    CAST(DATE_PART(
      YEAR,
      DATEADD(MONTH, 11, DATE_TRUNC('MONTH', CAST(subscriptions.started_at AS DATE)))
    ) AS INT),
    CAST(DATE_PART(
      QUARTER,
      DATEADD(MONTH, 1 * -1, DATE_TRUNC('MONTH', CAST(subscriptions.started_at AS DATE)))
    ) AS INT)
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

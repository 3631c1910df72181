WITH subscriptions_agg AS (
  SELECT
    DATE(
      CASE
        WHEN STRFTIME('%m', DATE(subscriptions.started_at, 'start of month', '-1 months')) <= '03'
        THEN DATE(subscriptions.started_at, 'start of month', '-1 months', 'start of year')
        WHEN STRFTIME('%m', DATE(subscriptions.started_at, 'start of month', '-1 months')) <= '06'
        THEN DATE(subscriptions.started_at, 'start of month', '-1 months', 'start of year', '+3 months')
        WHEN STRFTIME('%m', DATE(subscriptions.started_at, 'start of month', '-1 months')) <= '09'
        THEN DATE(subscriptions.started_at, 'start of month', '-1 months', 'start of year', '+6 months')
        ELSE DATE(subscriptions.started_at, 'start of month', '-1 months', 'start of year', '+9 months')
      END,
      '+1 months'
    ) AS metric_time__fiscal_quarter,
    CAST(CAST(STRFTIME('%Y', DATE(subscriptions.started_at, 'start of month', '+11 months')) AS INTEGER) AS INTEGER) AS metric_time__fiscal_year_number,
    CAST((
      CAST(STRFTIME('%m', DATE(subscriptions.started_at, 'start of month', '-1 months')) AS INTEGER) + 2
    ) / 3 AS INTEGER) AS metric_time__fiscal_quarter_of_year,
    SUM(subscriptions.mrr) AS new_mrr
  FROM subscriptions AS subscriptions
  WHERE
    CAST((
      CAST(STRFTIME('%m', DATE(subscriptions.started_at)) AS INTEGER) + 2
    ) / 3 AS INTEGER) = 1
    AND CAST(CAST(STRFTIME('%d', DATE(subscriptions.started_at)) AS INTEGER) AS INTEGER) < 15
  GROUP BY
    DATE(
      CASE
        WHEN STRFTIME('%m', DATE(subscriptions.started_at, 'start of month', '-1 months')) <= '03'
        THEN DATE(subscriptions.started_at, 'start of month', '-1 months', 'start of year')
        WHEN STRFTIME('%m', DATE(subscriptions.started_at, 'start of month', '-1 months')) <= '06'
        THEN DATE(subscriptions.started_at, 'start of month', '-1 months', 'start of year', '+3 months')
        WHEN STRFTIME('%m', DATE(subscriptions.started_at, 'start of month', '-1 months')) <= '09'
        THEN DATE(subscriptions.started_at, 'start of month', '-1 months', 'start of year', '+6 months')
        ELSE DATE(subscriptions.started_at, 'start of month', '-1 months', 'start of year', '+9 months')
      END,
      '+1 months'
    ),
    CAST(CAST(STRFTIME('%Y', DATE(subscriptions.started_at, 'start of month', '+11 months')) AS INTEGER) AS INTEGER),
    CAST((
      CAST(STRFTIME('%m', DATE(subscriptions.started_at, 'start of month', '-1 months')) AS INTEGER) + 2
    ) / 3 AS INTEGER)
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

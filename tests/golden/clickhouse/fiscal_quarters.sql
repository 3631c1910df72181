SELECT
  toDate32(
    DATE_ADD(
      MONTH,
      1,
      dateTrunc(
        'QUARTER',
        DATE_SUB(MONTH, 1, dateTrunc('MONTH', toDate32(subscriptions.started_at)))
      )
    )
  ) AS metric_time__fiscal_quarter,
  CAST(EXTRACT(YEAR FROM DATE_ADD(MONTH, 11, dateTrunc('MONTH', toDate32(subscriptions.started_at)))) AS Nullable(Int32)) AS metric_time__fiscal_year_number,
  CAST(EXTRACT(QUARTER FROM DATE_SUB(MONTH, 1, dateTrunc('MONTH', toDate32(subscriptions.started_at)))) AS Nullable(Int32)) AS metric_time__fiscal_quarter_of_year,
  SUM(subscriptions.mrr) AS new_mrr
FROM subscriptions AS subscriptions
WHERE
  CAST(EXTRACT(QUARTER FROM toDate32(subscriptions.started_at)) AS Nullable(Int32)) = 1
  AND CAST(EXTRACT(DAY FROM toDate32(subscriptions.started_at)) AS Nullable(Int32)) < 15
GROUP BY
  toDate32(
    DATE_ADD(
      MONTH,
      1,
      dateTrunc(
        'QUARTER',
        DATE_SUB(MONTH, 1, dateTrunc('MONTH', toDate32(subscriptions.started_at)))
      )
    )
  ),
  CAST(EXTRACT(YEAR FROM DATE_ADD(MONTH, 11, dateTrunc('MONTH', toDate32(subscriptions.started_at)))) AS Nullable(Int32)),
  CAST(EXTRACT(QUARTER FROM DATE_SUB(MONTH, 1, dateTrunc('MONTH', toDate32(subscriptions.started_at)))) AS Nullable(Int32))
ORDER BY
  metric_time__fiscal_quarter,
  metric_time__fiscal_year_number,
  metric_time__fiscal_quarter_of_year

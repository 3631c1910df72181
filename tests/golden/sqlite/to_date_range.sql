WITH spine_digits AS (
  SELECT
    0 AS n
  UNION ALL
  SELECT
    1 AS n
  UNION ALL
  SELECT
    2 AS n
  UNION ALL
  SELECT
    3 AS n
  UNION ALL
  SELECT
    4 AS n
  UNION ALL
  SELECT
    5 AS n
  UNION ALL
  SELECT
    6 AS n
  UNION ALL
  SELECT
    7 AS n
  UNION ALL
  SELECT
    8 AS n
  UNION ALL
  SELECT
    9 AS n
), subscriptions_new_mrr_month_to_date AS (
  SELECT
    DATE(subscriptions.started_at) AS metric_day,
    SUM(subscriptions.mrr) AS part
  FROM subscriptions AS subscriptions
  WHERE
    subscriptions.started_at >= DATE('2025-07-01', '-1 day')
    AND subscriptions.started_at < DATE('2026-06-30', '+2 days')
    AND DATE(subscriptions.started_at) BETWEEN DATE('2025-07-01') AND DATE('2026-06-30')
  GROUP BY
    DATE(subscriptions.started_at)
), subscriptions_new_mrr_month_to_date_bounds AS (
  SELECT
    DATE('2025-07-01') AS first_day,
    DATE('2026-06-30') AS last_day
), subscriptions_new_mrr_month_to_date_points AS MATERIALIZED (
  SELECT
    DATE(JULIANDAY('2025-07-01') + spine_offsets.n, 'start of month') AS metric_time__month,
    DATE(JULIANDAY('2025-07-01') + MAX(spine_offsets.n)) AS window_end,
    DATE(JULIANDAY('2025-07-01') + MAX(spine_offsets.n), 'start of month') AS window_start
  FROM subscriptions_new_mrr_month_to_date_bounds
  CROSS JOIN (
    SELECT
      d0.n + d1.n * 10 + d2.n * 100 AS n
    FROM spine_digits AS d0
    CROSS JOIN spine_digits AS d1
    CROSS JOIN spine_digits AS d2
  ) AS spine_offsets
  WHERE
    spine_offsets.n <= CAST((JULIANDAY(DATE('2026-06-30')) - JULIANDAY(DATE('2025-07-01'))) AS INTEGER)
  GROUP BY
    DATE(JULIANDAY('2025-07-01') + spine_offsets.n, 'start of month')
), subscriptions_new_mrr_month_to_date_window AS (
  SELECT
    subscriptions_new_mrr_month_to_date_points.metric_time__month,
    SUM(subscriptions_new_mrr_month_to_date.part) AS new_mrr
  FROM subscriptions_new_mrr_month_to_date_points
  LEFT JOIN subscriptions_new_mrr_month_to_date
    ON subscriptions_new_mrr_month_to_date.metric_day <= subscriptions_new_mrr_month_to_date_points.window_end
    AND subscriptions_new_mrr_month_to_date.metric_day >= subscriptions_new_mrr_month_to_date_points.window_start
  GROUP BY
    subscriptions_new_mrr_month_to_date_points.metric_time__month
), subscriptions_new_mrr_retail_year_to_date AS (
  SELECT
    DATE(subscriptions.started_at) AS metric_day,
    SUM(subscriptions.mrr) AS part
  FROM subscriptions AS subscriptions
  WHERE
    subscriptions.started_at < DATE('2026-06-30', '+2 days')
    AND subscriptions.started_at >= (
      SELECT
        DATE(MIN(calendar.retail_year), '-1 day')
      FROM retail_calendar AS calendar
      WHERE
        calendar."day" BETWEEN DATE('2025-07-01') AND DATE('2026-06-30')
    )
    AND DATE(subscriptions.started_at) BETWEEN (
      SELECT
        MIN(calendar.retail_year)
      FROM retail_calendar AS calendar
      WHERE
        calendar."day" BETWEEN DATE('2025-07-01') AND DATE('2026-06-30')
    ) AND DATE('2026-06-30')
  GROUP BY
    DATE(subscriptions.started_at)
), subscriptions_new_mrr_retail_year_to_date_bounds AS (
  SELECT
    DATE('2025-07-01') AS first_day,
    DATE('2026-06-30') AS last_day
), subscriptions_new_mrr_retail_year_to_date_points AS MATERIALIZED (
  SELECT
    DATE(JULIANDAY('2025-07-01') + spine_offsets.n, 'start of month') AS metric_time__month,
    DATE(JULIANDAY('2025-07-01') + MAX(spine_offsets.n)) AS window_end
  FROM subscriptions_new_mrr_retail_year_to_date_bounds
  CROSS JOIN (
    SELECT
      d0.n + d1.n * 10 + d2.n * 100 AS n
    FROM spine_digits AS d0
    CROSS JOIN spine_digits AS d1
    CROSS JOIN spine_digits AS d2
  ) AS spine_offsets
  WHERE
    spine_offsets.n <= CAST((JULIANDAY(DATE('2026-06-30')) - JULIANDAY(DATE('2025-07-01'))) AS INTEGER)
  GROUP BY
    DATE(JULIANDAY('2025-07-01') + spine_offsets.n, 'start of month')
), subscriptions_new_mrr_retail_year_to_date_window AS (
  SELECT
    subscriptions_new_mrr_retail_year_to_date_points.metric_time__month,
    SUM(subscriptions_new_mrr_retail_year_to_date.part) AS new_mrr
  FROM subscriptions_new_mrr_retail_year_to_date_points
  LEFT JOIN retail_calendar AS calendar_1
    ON calendar_1."day" = DATE(subscriptions_new_mrr_retail_year_to_date_points.window_end)
  LEFT JOIN subscriptions_new_mrr_retail_year_to_date
    ON subscriptions_new_mrr_retail_year_to_date.metric_day <= subscriptions_new_mrr_retail_year_to_date_points.window_end
    AND subscriptions_new_mrr_retail_year_to_date.metric_day >= calendar_1.retail_year
  GROUP BY
    subscriptions_new_mrr_retail_year_to_date_points.metric_time__month
)
SELECT
  subscriptions_new_mrr_month_to_date_window.metric_time__month AS metric_time__month,
  subscriptions_new_mrr_month_to_date_window.new_mrr AS new_mrr_month_to_date,
  subscriptions_new_mrr_retail_year_to_date_window.new_mrr AS new_mrr_retail_year_to_date
FROM subscriptions_new_mrr_month_to_date_window
LEFT JOIN subscriptions_new_mrr_retail_year_to_date_window
  ON subscriptions_new_mrr_month_to_date_window.metric_time__month = subscriptions_new_mrr_retail_year_to_date_window.metric_time__month
ORDER BY
  metric_time__month NULLS LAST

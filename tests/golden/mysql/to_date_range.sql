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
    CAST(subscriptions.started_at AS DATE) AS metric_day,
    SUM(subscriptions.mrr) AS part
  FROM subscriptions AS subscriptions
  WHERE
    subscriptions.started_at >= CAST('2025-07-01' AS DATETIME)
    AND subscriptions.started_at < CAST('2026-06-30' AS DATETIME) + INTERVAL '1' DAY
  GROUP BY
    CAST(subscriptions.started_at AS DATE)
), subscriptions_new_mrr_month_to_date_bounds AS (
  SELECT
    CAST('2025-07-01' AS DATE) AS first_day,
    CAST('2026-06-30' AS DATE) AS last_day
), subscriptions_new_mrr_month_to_date_days AS (
  SELECT
    CAST(DATE_ADD(
      CAST(subscriptions_new_mrr_month_to_date_bounds.first_day AS DATE),
      INTERVAL spine_offsets.n DAY
    ) AS DATE) AS spine_day
  FROM subscriptions_new_mrr_month_to_date_bounds
  CROSS JOIN (
    SELECT
      d0.n + d1.n * 10 + d2.n * 100 AS n
    FROM spine_digits AS d0
    CROSS JOIN spine_digits AS d1
    CROSS JOIN spine_digits AS d2
  ) AS spine_offsets
  WHERE
    spine_offsets.n <= DATEDIFF(CAST('2026-06-30' AS DATE), CAST('2025-07-01' AS DATE))
), subscriptions_new_mrr_month_to_date_points AS (
  SELECT
    CAST(DATE_SUB(CAST(spine_day AS DATE), INTERVAL (DAYOFMONTH(CAST(spine_day AS DATE)) - 1) DAY) AS DATE) AS metric_time__month,
    MAX(subscriptions_new_mrr_month_to_date_days.spine_day) AS window_end,
    CAST(DATE_SUB(
      CAST(MAX(subscriptions_new_mrr_month_to_date_days.spine_day) AS DATE),
      INTERVAL (DAYOFMONTH(CAST(MAX(subscriptions_new_mrr_month_to_date_days.spine_day) AS DATE)) - 1) DAY
    ) AS DATE) AS window_start
  FROM subscriptions_new_mrr_month_to_date_days
  GROUP BY
    CAST(DATE_SUB(CAST(spine_day AS DATE), INTERVAL (DAYOFMONTH(CAST(spine_day AS DATE)) - 1) DAY) AS DATE)
), subscriptions_new_mrr_month_to_date_window AS (
  SELECT
    subscriptions_new_mrr_month_to_date_points.metric_time__month,
    SUM(subscriptions_new_mrr_month_to_date.part) AS new_mrr
  FROM subscriptions_new_mrr_month_to_date_points
  LEFT JOIN subscriptions_new_mrr_month_to_date
    ON subscriptions_new_mrr_month_to_date.metric_day <= subscriptions_new_mrr_month_to_date_points.window_end
    AND subscriptions_new_mrr_month_to_date.metric_day >= subscriptions_new_mrr_month_to_date_points.window_start
  GROUP BY
    subscriptions_new_mrr_month_to_date_points.metric_time__month,
    CAST(subscriptions_new_mrr_month_to_date_points.metric_time__month AS BINARY)
), subscriptions_new_mrr_retail_year_to_date AS (
  SELECT
    CAST(subscriptions.started_at AS DATE) AS metric_day,
    SUM(subscriptions.mrr) AS part
  FROM subscriptions AS subscriptions
  WHERE
    subscriptions.started_at < CAST('2026-06-30' AS DATETIME) + INTERVAL '1' DAY
    AND CAST(subscriptions.started_at AS DATE) >= (
      SELECT
        MIN(calendar.retail_year)
      FROM retail_calendar AS calendar
      WHERE
        calendar.`day` BETWEEN CAST('2025-07-01' AS DATE) AND CAST('2026-06-30' AS DATE)
    )
  GROUP BY
    CAST(subscriptions.started_at AS DATE)
), subscriptions_new_mrr_retail_year_to_date_bounds AS (
  SELECT
    CAST('2025-07-01' AS DATE) AS first_day,
    CAST('2026-06-30' AS DATE) AS last_day
), subscriptions_new_mrr_retail_year_to_date_days AS (
  SELECT
    CAST(DATE_ADD(
      CAST(subscriptions_new_mrr_retail_year_to_date_bounds.first_day AS DATE),
      INTERVAL spine_offsets.n DAY
    ) AS DATE) AS spine_day
  FROM subscriptions_new_mrr_retail_year_to_date_bounds
  CROSS JOIN (
    SELECT
      d0.n + d1.n * 10 + d2.n * 100 AS n
    FROM spine_digits AS d0
    CROSS JOIN spine_digits AS d1
    CROSS JOIN spine_digits AS d2
  ) AS spine_offsets
  WHERE
    spine_offsets.n <= DATEDIFF(CAST('2026-06-30' AS DATE), CAST('2025-07-01' AS DATE))
), subscriptions_new_mrr_retail_year_to_date_points AS (
  SELECT
    CAST(DATE_SUB(CAST(spine_day AS DATE), INTERVAL (DAYOFMONTH(CAST(spine_day AS DATE)) - 1) DAY) AS DATE) AS metric_time__month,
    MAX(subscriptions_new_mrr_retail_year_to_date_days.spine_day) AS window_end
  FROM subscriptions_new_mrr_retail_year_to_date_days
  GROUP BY
    CAST(DATE_SUB(CAST(spine_day AS DATE), INTERVAL (DAYOFMONTH(CAST(spine_day AS DATE)) - 1) DAY) AS DATE)
), subscriptions_new_mrr_retail_year_to_date_window AS (
  SELECT
    subscriptions_new_mrr_retail_year_to_date_points.metric_time__month,
    SUM(subscriptions_new_mrr_retail_year_to_date.part) AS new_mrr
  FROM subscriptions_new_mrr_retail_year_to_date_points
  LEFT JOIN retail_calendar AS calendar_1
    ON calendar_1.`day` = CAST(subscriptions_new_mrr_retail_year_to_date_points.window_end AS DATE)
  LEFT JOIN subscriptions_new_mrr_retail_year_to_date
    ON subscriptions_new_mrr_retail_year_to_date.metric_day <= subscriptions_new_mrr_retail_year_to_date_points.window_end
    AND subscriptions_new_mrr_retail_year_to_date.metric_day >= calendar_1.retail_year
  GROUP BY
    subscriptions_new_mrr_retail_year_to_date_points.metric_time__month,
    CAST(subscriptions_new_mrr_retail_year_to_date_points.metric_time__month AS BINARY)
)
SELECT
  subscriptions_new_mrr_month_to_date_window.metric_time__month AS metric_time__month,
  subscriptions_new_mrr_month_to_date_window.new_mrr AS new_mrr_month_to_date,
  subscriptions_new_mrr_retail_year_to_date_window.new_mrr AS new_mrr_retail_year_to_date
FROM subscriptions_new_mrr_month_to_date_window
LEFT JOIN subscriptions_new_mrr_retail_year_to_date_window
  ON subscriptions_new_mrr_month_to_date_window.metric_time__month = subscriptions_new_mrr_retail_year_to_date_window.metric_time__month
ORDER BY
  CASE WHEN subscriptions_new_mrr_month_to_date_window.metric_time__month IS NULL THEN 1 ELSE 0 END, subscriptions_new_mrr_month_to_date_window.metric_time__month

WITH subscriptions_new_mrr_month_to_date AS (
  SELECT
    toDate32(subscriptions.started_at) AS metric_day,
    SUM(subscriptions.mrr) AS part
  FROM subscriptions AS subscriptions
  WHERE
    toDate32(subscriptions.started_at) BETWEEN CAST('2025-07-01' AS Nullable(Date32)) AND CAST('2026-06-30' AS Nullable(Date32))
  GROUP BY
    toDate32(subscriptions.started_at)
), subscriptions_new_mrr_month_to_date_bounds AS (
  SELECT
    CAST('2025-07-01' AS Nullable(Date32)) AS first_day,
    CAST('2026-06-30' AS Nullable(Date32)) AS last_day
), subscriptions_new_mrr_month_to_date_days AS (
  SELECT
    arrayJoin(
      arrayMap(
        n -> addDays(subscriptions_new_mrr_month_to_date_bounds.first_day, n),
        range(
          toUInt32(
            DATE_DIFF(
              DAY,
              subscriptions_new_mrr_month_to_date_bounds.first_day,
              subscriptions_new_mrr_month_to_date_bounds.last_day
            ) + 1
          )
        )
      )
    ) AS spine_day
  FROM subscriptions_new_mrr_month_to_date_bounds
  WHERE
    subscriptions_new_mrr_month_to_date_bounds.first_day <= subscriptions_new_mrr_month_to_date_bounds.last_day
), subscriptions_new_mrr_month_to_date_points AS (
  SELECT
    toDate32(dateTrunc('MONTH', toDate32(spine_day))) AS metric_time__month,
    MAX(subscriptions_new_mrr_month_to_date_days.spine_day) AS window_end,
    toDate32(
      dateTrunc('MONTH', toDate32(MAX(subscriptions_new_mrr_month_to_date_days.spine_day)))
    ) AS window_start
  FROM subscriptions_new_mrr_month_to_date_days
  GROUP BY
    toDate32(dateTrunc('MONTH', toDate32(spine_day)))
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
    toDate32(subscriptions.started_at) AS metric_day,
    SUM(subscriptions.mrr) AS part
  FROM subscriptions AS subscriptions
  WHERE
    toDate32(subscriptions.started_at) <= CAST('2026-06-30' AS Nullable(Date32))
    AND toDate32(subscriptions.started_at) >= (
      SELECT
        MIN(calendar.retail_year)
      FROM retail_calendar AS calendar
      WHERE
        calendar."day" BETWEEN CAST('2025-07-01' AS Nullable(Date32)) AND CAST('2026-06-30' AS Nullable(Date32))
    )
  GROUP BY
    toDate32(subscriptions.started_at)
), subscriptions_new_mrr_retail_year_to_date_bounds AS (
  SELECT
    CAST('2025-07-01' AS Nullable(Date32)) AS first_day,
    CAST('2026-06-30' AS Nullable(Date32)) AS last_day
), subscriptions_new_mrr_retail_year_to_date_days AS (
  SELECT
    arrayJoin(
      arrayMap(
        n -> addDays(subscriptions_new_mrr_retail_year_to_date_bounds.first_day, n),
        range(
          toUInt32(
            DATE_DIFF(
              DAY,
              subscriptions_new_mrr_retail_year_to_date_bounds.first_day,
              subscriptions_new_mrr_retail_year_to_date_bounds.last_day
            ) + 1
          )
        )
      )
    ) AS spine_day
  FROM subscriptions_new_mrr_retail_year_to_date_bounds
  WHERE
    subscriptions_new_mrr_retail_year_to_date_bounds.first_day <= subscriptions_new_mrr_retail_year_to_date_bounds.last_day
), subscriptions_new_mrr_retail_year_to_date_points AS (
  SELECT
    toDate32(dateTrunc('MONTH', toDate32(spine_day))) AS metric_time__month,
    MAX(subscriptions_new_mrr_retail_year_to_date_days.spine_day) AS window_end
  FROM subscriptions_new_mrr_retail_year_to_date_days
  GROUP BY
    toDate32(dateTrunc('MONTH', toDate32(spine_day)))
), subscriptions_new_mrr_retail_year_to_date_window AS (
  SELECT
    subscriptions_new_mrr_retail_year_to_date_points.metric_time__month,
    SUM(subscriptions_new_mrr_retail_year_to_date.part) AS new_mrr
  FROM subscriptions_new_mrr_retail_year_to_date_points
  LEFT JOIN retail_calendar AS calendar_1
    ON calendar_1."day" = toDate32(subscriptions_new_mrr_retail_year_to_date_points.window_end)
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
  metric_time__month

WITH subscriptions_agg AS (
  SELECT
    calendar_3.retail_month AS metric_time__retail_month,
    calendar_5.retail_year AS user__signed_up_at__retail_year,
    SUM(subscriptions.mrr) AS new_mrr
  FROM subscriptions AS subscriptions
  LEFT JOIN retail_calendar AS calendar_3
    ON calendar_3."day" = DATE(subscriptions.started_at)
  LEFT JOIN users AS users
    ON subscriptions.user_id = users.user_id
  LEFT JOIN retail_calendar AS calendar_5
    ON calendar_5."day" = DATE(users.signed_up_at)
  WHERE
    calendar_3.retail_year = DATE('2025-02-02')
  GROUP BY
    calendar_3.retail_month,
    calendar_5.retail_year
), spine_digits AS (
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
), subscriptions_new_mrr_retail_year_to_date AS (
  SELECT
    calendar_6.retail_year AS user__signed_up_at__retail_year,
    DATE(subscriptions.started_at) AS metric_day,
    SUM(subscriptions.mrr) AS part
  FROM subscriptions AS subscriptions
  LEFT JOIN retail_calendar AS calendar_4
    ON calendar_4."day" = DATE(subscriptions.started_at)
  LEFT JOIN users AS users
    ON subscriptions.user_id = users.user_id
  LEFT JOIN retail_calendar AS calendar_6
    ON calendar_6."day" = DATE(users.signed_up_at)
  WHERE
    calendar_4.retail_year = DATE('2025-02-02')
  GROUP BY
    calendar_6.retail_year,
    DATE(subscriptions.started_at)
), subscriptions_new_mrr_retail_year_to_date_bounds AS (
  SELECT
    MIN(subscriptions_new_mrr_retail_year_to_date.metric_day) AS first_day,
    MAX(subscriptions_new_mrr_retail_year_to_date.metric_day) AS last_day
  FROM subscriptions_new_mrr_retail_year_to_date
), subscriptions_new_mrr_retail_year_to_date_points AS (
  SELECT
    calendar_1.retail_month AS metric_time__retail_month,
    DATE(
      JULIANDAY(subscriptions_new_mrr_retail_year_to_date_bounds.first_day) + MAX(spine_offsets.n)
    ) AS window_end
  FROM subscriptions_new_mrr_retail_year_to_date_bounds
  CROSS JOIN (
    SELECT
      d0.n + d1.n * 10 + d2.n * 100 + d3.n * 1000 + d4.n * 10000 AS n
    FROM spine_digits AS d0
    CROSS JOIN spine_digits AS d1
    CROSS JOIN spine_digits AS d2
    CROSS JOIN spine_digits AS d3
    CROSS JOIN spine_digits AS d4
  ) AS spine_offsets
  LEFT JOIN retail_calendar AS calendar_1
    ON calendar_1."day" = DATE(
      JULIANDAY(subscriptions_new_mrr_retail_year_to_date_bounds.first_day) + spine_offsets.n
    )
  WHERE
    NOT calendar_1.retail_month IS NULL
    AND DATE(
      JULIANDAY(subscriptions_new_mrr_retail_year_to_date_bounds.first_day) + spine_offsets.n
    ) <= subscriptions_new_mrr_retail_year_to_date_bounds.last_day
  GROUP BY
    calendar_1.retail_month
), subscriptions_new_mrr_retail_year_to_date_window AS (
  SELECT
    subscriptions_new_mrr_retail_year_to_date_points.metric_time__retail_month,
    subscriptions_new_mrr_retail_year_to_date.user__signed_up_at__retail_year,
    SUM(subscriptions_new_mrr_retail_year_to_date.part) AS new_mrr
  FROM subscriptions_new_mrr_retail_year_to_date_points
  LEFT JOIN retail_calendar AS calendar_2
    ON calendar_2."day" = DATE(subscriptions_new_mrr_retail_year_to_date_points.window_end)
  CROSS JOIN subscriptions_new_mrr_retail_year_to_date
  WHERE
    subscriptions_new_mrr_retail_year_to_date.metric_day <= subscriptions_new_mrr_retail_year_to_date_points.window_end
    AND subscriptions_new_mrr_retail_year_to_date.metric_day >= calendar_2.retail_year
  GROUP BY
    subscriptions_new_mrr_retail_year_to_date_points.metric_time__retail_month,
    subscriptions_new_mrr_retail_year_to_date.user__signed_up_at__retail_year
), grain_keys AS (
  SELECT
    subscriptions_agg.metric_time__retail_month,
    subscriptions_agg.user__signed_up_at__retail_year
  FROM subscriptions_agg
  UNION
  SELECT
    subscriptions_new_mrr_retail_year_to_date_window.metric_time__retail_month,
    subscriptions_new_mrr_retail_year_to_date_window.user__signed_up_at__retail_year
  FROM subscriptions_new_mrr_retail_year_to_date_window
)
SELECT
  grain_keys.metric_time__retail_month AS metric_time__retail_month,
  grain_keys.user__signed_up_at__retail_year AS user__signed_up_at__retail_year,
  subscriptions_agg.new_mrr AS new_mrr,
  subscriptions_new_mrr_retail_year_to_date_window.new_mrr AS new_mrr_retail_year_to_date
FROM grain_keys
LEFT JOIN subscriptions_agg
  ON grain_keys.metric_time__retail_month IS subscriptions_agg.metric_time__retail_month
  AND grain_keys.user__signed_up_at__retail_year IS subscriptions_agg.user__signed_up_at__retail_year
LEFT JOIN subscriptions_new_mrr_retail_year_to_date_window
  ON grain_keys.metric_time__retail_month IS subscriptions_new_mrr_retail_year_to_date_window.metric_time__retail_month
  AND grain_keys.user__signed_up_at__retail_year IS subscriptions_new_mrr_retail_year_to_date_window.user__signed_up_at__retail_year
ORDER BY
  metric_time__retail_month NULLS LAST,
  user__signed_up_at__retail_year NULLS LAST

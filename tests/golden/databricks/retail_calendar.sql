WITH subscriptions_agg AS (
  SELECT
    calendar_3.retail_month AS metric_time__retail_month,
    calendar_5.retail_year AS user__signed_up_at__retail_year,
    SUM(subscriptions.mrr) AS new_mrr
  FROM subscriptions AS subscriptions
  LEFT JOIN retail_calendar AS calendar_3
    ON calendar_3.`day` = CAST(subscriptions.started_at AS DATE)
  LEFT JOIN users AS users
    ON subscriptions.user_id = users.user_id
  LEFT JOIN retail_calendar AS calendar_5
    ON calendar_5.`day` = CAST(users.signed_up_at AS DATE)
  WHERE
    calendar_3.retail_year = CAST('2025-02-02' AS DATE)
  GROUP BY
    calendar_3.retail_month,
    calendar_5.retail_year
), subscriptions_new_mrr_retail_year_to_date AS (
  SELECT
    calendar_6.retail_year AS user__signed_up_at__retail_year,
    CAST(subscriptions.started_at AS DATE) AS metric_day,
    SUM(subscriptions.mrr) AS part
  FROM subscriptions AS subscriptions
  LEFT JOIN retail_calendar AS calendar_4
    ON calendar_4.`day` = CAST(subscriptions.started_at AS DATE)
  LEFT JOIN users AS users
    ON subscriptions.user_id = users.user_id
  LEFT JOIN retail_calendar AS calendar_6
    ON calendar_6.`day` = CAST(users.signed_up_at AS DATE)
  WHERE
    calendar_4.retail_year = CAST('2025-02-02' AS DATE)
  GROUP BY
    calendar_6.retail_year,
    CAST(subscriptions.started_at AS DATE)
), subscriptions_new_mrr_retail_year_to_date_bounds AS (
  SELECT
    MIN(subscriptions_new_mrr_retail_year_to_date.metric_day) AS first_day,
    MAX(subscriptions_new_mrr_retail_year_to_date.metric_day) AS last_day
  FROM subscriptions_new_mrr_retail_year_to_date
), subscriptions_new_mrr_retail_year_to_date_days AS (
  SELECT
    EXPLODE(
      SEQUENCE(
        CAST(subscriptions_new_mrr_retail_year_to_date_bounds.first_day AS DATE),
        CAST(subscriptions_new_mrr_retail_year_to_date_bounds.last_day AS DATE)
      )
    ) AS spine_day
  FROM subscriptions_new_mrr_retail_year_to_date_bounds
  WHERE
    subscriptions_new_mrr_retail_year_to_date_bounds.first_day <= subscriptions_new_mrr_retail_year_to_date_bounds.last_day
), subscriptions_new_mrr_retail_year_to_date_points AS (
  SELECT
    calendar_1.retail_month AS metric_time__retail_month,
    MAX(subscriptions_new_mrr_retail_year_to_date_days.spine_day) AS window_end
  FROM subscriptions_new_mrr_retail_year_to_date_days
  LEFT JOIN retail_calendar AS calendar_1
    ON calendar_1.`day` = CAST(spine_day AS DATE)
  WHERE
    NOT calendar_1.retail_month IS NULL
  GROUP BY
    calendar_1.retail_month
), subscriptions_new_mrr_retail_year_to_date_window AS (
  SELECT
    subscriptions_new_mrr_retail_year_to_date_points.metric_time__retail_month,
    subscriptions_new_mrr_retail_year_to_date.user__signed_up_at__retail_year,
    SUM(subscriptions_new_mrr_retail_year_to_date.part) AS new_mrr
  FROM subscriptions_new_mrr_retail_year_to_date_points
  LEFT JOIN retail_calendar AS calendar_2
    ON calendar_2.`day` = CAST(subscriptions_new_mrr_retail_year_to_date_points.window_end AS DATE)
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
  ON grain_keys.metric_time__retail_month IS NOT DISTINCT FROM subscriptions_agg.metric_time__retail_month
  AND grain_keys.user__signed_up_at__retail_year IS NOT DISTINCT FROM subscriptions_agg.user__signed_up_at__retail_year
LEFT JOIN subscriptions_new_mrr_retail_year_to_date_window
  ON grain_keys.metric_time__retail_month IS NOT DISTINCT FROM subscriptions_new_mrr_retail_year_to_date_window.metric_time__retail_month
  AND grain_keys.user__signed_up_at__retail_year IS NOT DISTINCT FROM subscriptions_new_mrr_retail_year_to_date_window.user__signed_up_at__retail_year
ORDER BY
  metric_time__retail_month NULLS LAST,
  user__signed_up_at__retail_year NULLS LAST

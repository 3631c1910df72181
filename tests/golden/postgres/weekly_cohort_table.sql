WITH weekly_cohort_retention__base_rows AS (
  SELECT
    users.user_id AS entity_key,
    users.signed_up_at AS event_at
  FROM users AS users
  WHERE
    NOT users.user_id IS NULL AND NOT users.signed_up_at IS NULL
), weekly_cohort_retention__activity_rows AS (
  SELECT
    events.user_id AS entity_key,
    events.occurred_at AS event_at
  FROM events AS events
  WHERE
    NOT events.user_id IS NULL
    AND NOT events.occurred_at IS NULL
    AND (
      NOT (
        events.event_type
      ) IN ('email_open', 'login_failed')
    )
), weekly_cohort_retention__first_base AS (
  SELECT
    entity_key,
    cohort_at,
    CAST(DATE_TRUNC('WEEK', CAST(cohort_at AS DATE)) AS DATE) AS cohort_period
  FROM (
    SELECT
      entity_key,
      event_at AS cohort_at
    FROM weekly_cohort_retention__base_rows AS base_rows
  ) AS first_events
  WHERE
    cohort_at >= CAST('2026-01-01' AS TIMESTAMP)
    AND cohort_at < CAST('2026-03-31' AS TIMESTAMP) + INTERVAL '1 DAY'
), weekly_cohort_retention__observed AS MATERIALIZED (
  SELECT
    CAST(MAX(event_at) AS DATE) AS last_day
  FROM (
    SELECT
      events.user_id AS entity_key,
      events.occurred_at AS event_at
    FROM events AS events
    WHERE
      NOT events.user_id IS NULL
      AND NOT events.occurred_at IS NULL
      AND (
        NOT (
          events.event_type
        ) IN ('email_open', 'login_failed')
      )
  ) AS activity_rows
), weekly_cohort_retention__targets AS (
  SELECT
    first_base.entity_key AS entity_key,
    first_base.cohort_at AS cohort_at,
    numbers.period AS period,
    CASE numbers.period
      WHEN 0
      THEN CAST(first_base.cohort_period AS DATE)
      WHEN 1
      THEN CAST(first_base.cohort_period AS DATE) + INTERVAL '7 DAY'
      WHEN 2
      THEN CAST(first_base.cohort_period AS DATE) + INTERVAL '14 DAY'
      WHEN 3
      THEN CAST(first_base.cohort_period AS DATE) + INTERVAL '21 DAY'
      WHEN 4
      THEN CAST(first_base.cohort_period AS DATE) + INTERVAL '28 DAY'
      WHEN 5
      THEN CAST(first_base.cohort_period AS DATE) + INTERVAL '35 DAY'
      WHEN 6
      THEN CAST(first_base.cohort_period AS DATE) + INTERVAL '42 DAY'
      WHEN 7
      THEN CAST(first_base.cohort_period AS DATE) + INTERVAL '49 DAY'
      WHEN 8
      THEN CAST(first_base.cohort_period AS DATE) + INTERVAL '56 DAY'
      WHEN 9
      THEN CAST(first_base.cohort_period AS DATE) + INTERVAL '63 DAY'
      WHEN 10
      THEN CAST(first_base.cohort_period AS DATE) + INTERVAL '70 DAY'
      WHEN 11
      THEN CAST(first_base.cohort_period AS DATE) + INTERVAL '77 DAY'
      WHEN 12
      THEN CAST(first_base.cohort_period AS DATE) + INTERVAL '84 DAY'
    END AS target
  FROM weekly_cohort_retention__first_base AS first_base
  CROSS JOIN (
    SELECT
      0 AS period
    UNION ALL
    SELECT
      1 AS period
    UNION ALL
    SELECT
      2 AS period
    UNION ALL
    SELECT
      3 AS period
    UNION ALL
    SELECT
      4 AS period
    UNION ALL
    SELECT
      5 AS period
    UNION ALL
    SELECT
      6 AS period
    UNION ALL
    SELECT
      7 AS period
    UNION ALL
    SELECT
      8 AS period
    UNION ALL
    SELECT
      9 AS period
    UNION ALL
    SELECT
      10 AS period
    UNION ALL
    SELECT
      11 AS period
    UNION ALL
    SELECT
      12 AS period
  ) AS numbers
), weekly_cohort_retention__active_periods AS (
  SELECT DISTINCT
    first_base.entity_key AS entity_key,
    CAST(DATE_TRUNC('WEEK', CAST(activity_rows.event_at AS DATE)) AS DATE) AS active_period
  FROM weekly_cohort_retention__activity_rows AS activity_rows
  INNER JOIN weekly_cohort_retention__first_base AS first_base
    ON activity_rows.entity_key = first_base.entity_key
  WHERE
    CAST(activity_rows.event_at AS DATE) >= CAST(first_base.cohort_period AS DATE)
    AND CAST(activity_rows.event_at AS DATE) < (
      CAST(first_base.cohort_period AS DATE) + INTERVAL '91 DAY'
    )
), weekly_cohort_retention_agg_narrowed_source AS (
  SELECT
    targets.cohort_at AS cohort_at,
    targets.period AS period,
    CASE WHEN NOT active_periods.active_period IS NULL THEN 1 ELSE 0 END AS retained
  FROM weekly_cohort_retention__targets AS targets
  CROSS JOIN weekly_cohort_retention__observed AS observed
  LEFT JOIN weekly_cohort_retention__active_periods AS active_periods
    ON active_periods.entity_key = targets.entity_key
    AND active_periods.active_period = targets.target
  WHERE
    (
      CAST(targets.target AS DATE) + INTERVAL '7 DAY'
    ) <= (
      CAST(observed.last_day AS DATE) + INTERVAL '1 DAY'
    )
), weekly_cohort_retention_agg AS (
  SELECT
    CAST(DATE_TRUNC('MONTH', CAST(weekly_cohort_retention.cohort_at AS DATE)) AS DATE) AS metric_time__month,
    weekly_cohort_retention.period AS weekly_cohort_retention__period,
    SUM(CASE WHEN weekly_cohort_retention.retained = 1 THEN 1 ELSE 0 END) AS retained,
    COUNT(*) AS cohort
  FROM weekly_cohort_retention_agg_narrowed_source AS weekly_cohort_retention
  GROUP BY
    CAST(DATE_TRUNC('MONTH', CAST(weekly_cohort_retention.cohort_at AS DATE)) AS DATE),
    weekly_cohort_retention.period
)
SELECT
  weekly_cohort_retention_agg.metric_time__month AS metric_time__month,
  weekly_cohort_retention_agg.weekly_cohort_retention__period AS weekly_cohort_retention__period,
  CAST(COALESCE(weekly_cohort_retention_agg.retained, 0) AS DOUBLE PRECISION) / NULLIF(COALESCE(weekly_cohort_retention_agg.cohort, 0), 0) AS weekly_cohort_retention
FROM weekly_cohort_retention_agg
ORDER BY
  metric_time__month,
  weekly_cohort_retention__period

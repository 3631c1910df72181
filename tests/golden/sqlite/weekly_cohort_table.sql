WITH weekly_cohort_retention_agg_narrowed_source AS (
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
      DATE(cohort_at, '-6 days', 'weekday 1') AS cohort_period
    FROM (
      SELECT
        entity_key,
        event_at AS cohort_at
      FROM weekly_cohort_retention__base_rows AS base_rows
    ) AS first_events
    WHERE
      cohort_at >= DATE('2026-01-01', '-1 day')
      AND cohort_at < DATE('2026-03-31', '+2 days')
      AND DATE(cohort_at) BETWEEN DATE('2026-01-01') AND DATE('2026-03-31')
  ), weekly_cohort_retention__observed AS (
    SELECT
      MAX(DATE(event_at)) AS last_day
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
        THEN DATE(first_base.cohort_period)
        WHEN 1
        THEN DATE(first_base.cohort_period, '+7 days')
        WHEN 2
        THEN DATE(first_base.cohort_period, '+14 days')
        WHEN 3
        THEN DATE(first_base.cohort_period, '+21 days')
        WHEN 4
        THEN DATE(first_base.cohort_period, '+28 days')
        WHEN 5
        THEN DATE(first_base.cohort_period, '+35 days')
        WHEN 6
        THEN DATE(first_base.cohort_period, '+42 days')
        WHEN 7
        THEN DATE(first_base.cohort_period, '+49 days')
        WHEN 8
        THEN DATE(first_base.cohort_period, '+56 days')
        WHEN 9
        THEN DATE(first_base.cohort_period, '+63 days')
        WHEN 10
        THEN DATE(first_base.cohort_period, '+70 days')
        WHEN 11
        THEN DATE(first_base.cohort_period, '+77 days')
        WHEN 12
        THEN DATE(first_base.cohort_period, '+84 days')
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
      DATE(activity_rows.event_at, '-6 days', 'weekday 1') AS active_period
    FROM weekly_cohort_retention__activity_rows AS activity_rows
    CROSS JOIN weekly_cohort_retention__first_base AS first_base
      ON activity_rows.entity_key = first_base.entity_key
    WHERE
      DATE(activity_rows.event_at) >= DATE(first_base.cohort_period)
      AND DATE(activity_rows.event_at) < DATE(first_base.cohort_period, '+91 days')
  )
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
    DATE(targets.target, '+7 days') <= DATE(observed.last_day, '+1 days')
), weekly_cohort_retention_agg AS (
  SELECT
    DATE(weekly_cohort_retention.cohort_at, 'start of month') AS metric_time__month,
    weekly_cohort_retention.period AS weekly_cohort_retention__period,
    SUM(CASE WHEN weekly_cohort_retention.retained = 1 THEN 1 ELSE 0 END) AS retained,
    COUNT(*) AS cohort
  FROM weekly_cohort_retention_agg_narrowed_source AS weekly_cohort_retention
  GROUP BY
    DATE(weekly_cohort_retention.cohort_at, 'start of month'),
    weekly_cohort_retention.period
)
SELECT
  weekly_cohort_retention_agg.metric_time__month AS metric_time__month,
  weekly_cohort_retention_agg.weekly_cohort_retention__period AS weekly_cohort_retention__period,
  CAST(COALESCE(weekly_cohort_retention_agg.retained, 0) AS REAL) / NULLIF(COALESCE(weekly_cohort_retention_agg.cohort, 0), 0) AS weekly_cohort_retention
FROM weekly_cohort_retention_agg
ORDER BY
  metric_time__month NULLS LAST,
  weekly_cohort_retention__period NULLS LAST

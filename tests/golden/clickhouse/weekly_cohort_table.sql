WITH weekly_cohort_retention_agg_narrowed_source AS (
  WITH weekly_cohort_retention__base_rows AS (
    SELECT
      users.user_id AS entity_key,
      users.signed_up_at AS event_at
    FROM users AS users
    WHERE
      NOT (
        users.user_id IS NULL
      ) AND NOT (
        users.signed_up_at IS NULL
      )
  ), weekly_cohort_retention__activity_rows AS (
    SELECT
      events.user_id AS entity_key,
      events.occurred_at AS event_at
    FROM events AS events
    WHERE
      NOT (
        events.user_id IS NULL
      )
      AND NOT (
        events.occurred_at IS NULL
      )
      AND (
        NOT (
          (
            events.event_type
          ) IN ('email_open', 'login_failed')
        )
      )
  ), weekly_cohort_retention__first_base AS (
    SELECT
      entity_key,
      cohort_at,
      toDate32(dateTrunc('WEEK', toDate32(cohort_at))) AS cohort_period
    FROM (
      SELECT
        entity_key,
        event_at AS cohort_at
      FROM weekly_cohort_retention__base_rows AS base_rows
    ) AS first_events
    WHERE
      toDate32(cohort_at) BETWEEN CAST('2026-01-01' AS Nullable(Date32)) AND CAST('2026-03-31' AS Nullable(Date32))
  ), weekly_cohort_retention__observed AS (
    SELECT
      toDate32(MAX(event_at)) AS last_day
    FROM (
      SELECT
        events.user_id AS entity_key,
        events.occurred_at AS event_at
      FROM events AS events
      WHERE
        NOT (
          events.user_id IS NULL
        )
        AND NOT (
          events.occurred_at IS NULL
        )
        AND (
          NOT (
            (
              events.event_type
            ) IN ('email_open', 'login_failed')
          )
        )
    ) AS activity_rows
  ), weekly_cohort_retention__targets AS (
    SELECT
      first_base.entity_key AS entity_key,
      first_base.cohort_at AS cohort_at,
      numbers.period AS period,
      CASE numbers.period
        WHEN 0
        THEN toDate32(first_base.cohort_period)
        WHEN 1
        THEN DATE_ADD(DAY, 7, toDate32(first_base.cohort_period))
        WHEN 2
        THEN DATE_ADD(DAY, 14, toDate32(first_base.cohort_period))
        WHEN 3
        THEN DATE_ADD(DAY, 21, toDate32(first_base.cohort_period))
        WHEN 4
        THEN DATE_ADD(DAY, 28, toDate32(first_base.cohort_period))
        WHEN 5
        THEN DATE_ADD(DAY, 35, toDate32(first_base.cohort_period))
        WHEN 6
        THEN DATE_ADD(DAY, 42, toDate32(first_base.cohort_period))
        WHEN 7
        THEN DATE_ADD(DAY, 49, toDate32(first_base.cohort_period))
        WHEN 8
        THEN DATE_ADD(DAY, 56, toDate32(first_base.cohort_period))
        WHEN 9
        THEN DATE_ADD(DAY, 63, toDate32(first_base.cohort_period))
        WHEN 10
        THEN DATE_ADD(DAY, 70, toDate32(first_base.cohort_period))
        WHEN 11
        THEN DATE_ADD(DAY, 77, toDate32(first_base.cohort_period))
        WHEN 12
        THEN DATE_ADD(DAY, 84, toDate32(first_base.cohort_period))
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
      toDate32(dateTrunc('WEEK', toDate32(activity_rows.event_at))) AS active_period
    FROM weekly_cohort_retention__activity_rows AS activity_rows
    INNER JOIN weekly_cohort_retention__first_base AS first_base
      ON activity_rows.entity_key = first_base.entity_key
    WHERE
      toDate32(activity_rows.event_at) >= toDate32(first_base.cohort_period)
      AND toDate32(activity_rows.event_at) < DATE_ADD(DAY, 91, toDate32(first_base.cohort_period))
  )
  SELECT
    targets.cohort_at AS cohort_at,
    targets.period AS period,
    CASE WHEN NOT (
      active_periods.active_period IS NULL
    ) THEN 1 ELSE 0 END AS retained
  FROM weekly_cohort_retention__targets AS targets
  CROSS JOIN weekly_cohort_retention__observed AS observed
  LEFT JOIN weekly_cohort_retention__active_periods AS active_periods
    ON active_periods.entity_key = targets.entity_key
    AND active_periods.active_period = targets.target
  WHERE
    DATE_ADD(DAY, 7, toDate32(targets.target)) <= DATE_ADD(DAY, 1, toDate32(observed.last_day))
)
SELECT
  toDate32(dateTrunc('MONTH', toDate32(weekly_cohort_retention.cohort_at))) AS metric_time__month,
  weekly_cohort_retention.period AS weekly_cohort_retention__period,
  CAST(COALESCE(SUM(CASE WHEN weekly_cohort_retention.retained = 1 THEN 1 ELSE 0 END), 0) AS Nullable(Float64)) / nullIf(COALESCE(COUNT(*), 0), 0) AS weekly_cohort_retention
FROM weekly_cohort_retention_agg_narrowed_source AS weekly_cohort_retention
GROUP BY
  toDate32(dateTrunc('MONTH', toDate32(weekly_cohort_retention.cohort_at))),
  weekly_cohort_retention.period
ORDER BY
  metric_time__month,
  weekly_cohort_retention__period

WITH retention_d7__base_rows AS (
  SELECT
    users.user_id AS entity_key,
    users.signed_up_at AS event_at
  FROM users AS users
  WHERE
    NOT users.user_id IS NULL
    AND NOT users.signed_up_at IS NULL
    AND users.country = 'DE'
), retention_d7__activity_rows AS (
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
), retention_d7__first_base AS (
  SELECT
    entity_key,
    cohort_at,
    CAST(cohort_at AS DATE) AS cohort_period
  FROM (
    SELECT
      entity_key,
      event_at AS cohort_at
    FROM retention_d7__base_rows AS base_rows
  ) AS first_events
  WHERE
    cohort_at >= CAST('2026-01-05' AS TIMESTAMP)
    AND cohort_at < CAST('2026-03-29' AS TIMESTAMP) + INTERVAL '1 DAY'
), retention_d7__observed AS MATERIALIZED (
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
), retention_d7__targets AS (
  SELECT
    first_base.entity_key AS entity_key,
    first_base.cohort_at AS cohort_at,
    7 AS period,
    CAST(first_base.cohort_period AS DATE) + INTERVAL '7 DAY' AS target
  FROM retention_d7__first_base AS first_base
), retention_d7__active_periods AS (
  SELECT DISTINCT
    first_base.entity_key AS entity_key,
    CAST(activity_rows.event_at AS DATE) AS active_period
  FROM retention_d7__activity_rows AS activity_rows
  INNER JOIN retention_d7__first_base AS first_base
    ON activity_rows.entity_key = first_base.entity_key
  WHERE
    CAST(activity_rows.event_at AS DATE) = (
      CAST(first_base.cohort_period AS DATE) + INTERVAL '7 DAY'
    )
), retention_d7_agg_narrowed_source AS (
  SELECT
    targets.entity_key AS entity_key,
    targets.cohort_at AS cohort_at,
    CASE WHEN NOT active_periods.active_period IS NULL THEN 1 ELSE 0 END AS retained
  FROM retention_d7__targets AS targets
  CROSS JOIN retention_d7__observed AS observed
  LEFT JOIN retention_d7__active_periods AS active_periods
    ON active_periods.entity_key = targets.entity_key
    AND active_periods.active_period = targets.target
  WHERE
    (
      CAST(targets.target AS DATE) + INTERVAL '1 DAY'
    ) <= (
      CAST(observed.last_day AS DATE) + INTERVAL '1 DAY'
    )
), retention_d7_agg AS (
  SELECT
    CAST(DATE_TRUNC('WEEK', CAST(retention_d7.cohort_at AS DATE)) AS DATE) AS metric_time__week,
    SUM(CASE WHEN retention_d7.retained = 1 THEN 1 ELSE 0 END) AS retained,
    COUNT(*) AS cohort
  FROM retention_d7_agg_narrowed_source AS retention_d7
  GROUP BY
    CAST(DATE_TRUNC('WEEK', CAST(retention_d7.cohort_at AS DATE)) AS DATE)
)
SELECT
  retention_d7_agg.metric_time__week AS metric_time__week,
  CAST(COALESCE(retention_d7_agg.retained, 0) AS DOUBLE PRECISION) / NULLIF(COALESCE(retention_d7_agg.cohort, 0), 0) AS retention_d7
FROM retention_d7_agg
ORDER BY
  metric_time__week

WITH net_revenue_retention__activity_rows AS (
  SELECT
    subscription_snapshots.user_id AS entity_key,
    subscription_snapshots.snapshot_date AS event_at,
    subscription_snapshots.mrr AS event_value
  FROM subscription_snapshots AS subscription_snapshots
  WHERE
    (
      NOT subscription_snapshots.user_id IS NULL
      AND NOT subscription_snapshots.snapshot_date IS NULL
    )
    AND subscription_snapshots.snapshot_date >= CAST('2025-06-01' AS TIMESTAMP)
    AND subscription_snapshots.snapshot_date < CAST('2026-06-30' AS TIMESTAMP) + INTERVAL '1 DAY'
), net_revenue_retention__active_days AS (
  SELECT
    entity_key,
    CAST(event_at AS DATE) AS active_day,
    event_value
  FROM net_revenue_retention__activity_rows AS activity_rows
), net_revenue_retention__period_edges AS (
  SELECT
    CAST(DATE_TRUNC('MONTH', CAST(active_day AS DATE)) AS DATE) AS period_start,
    MAX(active_day) AS edge_day
  FROM (
    SELECT
      CAST(event_at AS DATE) AS active_day
    FROM (
      SELECT
        subscription_snapshots.user_id AS entity_key,
        subscription_snapshots.snapshot_date AS event_at,
        subscription_snapshots.mrr AS event_value
      FROM subscription_snapshots AS subscription_snapshots
      WHERE
        (
          NOT subscription_snapshots.user_id IS NULL
          AND NOT subscription_snapshots.snapshot_date IS NULL
        )
        AND subscription_snapshots.snapshot_date >= CAST('2025-06-01' AS TIMESTAMP)
        AND subscription_snapshots.snapshot_date < CAST('2026-06-30' AS TIMESTAMP) + INTERVAL '1 DAY'
    ) AS activity_rows
  ) AS active_days
  GROUP BY
    CAST(DATE_TRUNC('MONTH', CAST(active_day AS DATE)) AS DATE)
), net_revenue_retention__per_period AS (
  SELECT
    active_days.entity_key AS entity_key,
    CAST(DATE_TRUNC('MONTH', CAST(active_days.active_day AS DATE)) AS DATE) AS period_start,
    SUM(active_days.event_value) AS period_value
  FROM net_revenue_retention__active_days AS active_days
  INNER JOIN net_revenue_retention__period_edges AS period_edges
    ON active_days.active_day = period_edges.edge_day
  GROUP BY
    active_days.entity_key,
    CAST(DATE_TRUNC('MONTH', CAST(active_days.active_day AS DATE)) AS DATE)
), net_revenue_retention__paired AS (
  SELECT
    per_period.entity_key AS entity_key,
    CASE
      WHEN sides.side = 1
      THEN CAST(CAST(per_period.period_start AS DATE) + INTERVAL '1 MONTH' AS DATE)
      ELSE CAST(per_period.period_start AS DATE)
    END AS period_start,
    MAX(CASE WHEN sides.side = 1 THEN per_period.period_value END) AS previous_value,
    MAX(CASE WHEN sides.side = 0 THEN per_period.period_value END) AS current_value
  FROM net_revenue_retention__per_period AS per_period
  CROSS JOIN (
    SELECT
      0 AS side
    UNION ALL
    SELECT
      1 AS side
  ) AS sides
  GROUP BY
    per_period.entity_key,
    CASE
      WHEN sides.side = 1
      THEN CAST(CAST(per_period.period_start AS DATE) + INTERVAL '1 MONTH' AS DATE)
      ELSE CAST(per_period.period_start AS DATE)
    END
), net_revenue_retention__observed AS MATERIALIZED (
  SELECT
    MAX(period_start) AS last_period
  FROM net_revenue_retention__per_period AS per_period
), net_revenue_retention_agg_narrowed_source AS (
  SELECT
    paired.entity_key AS entity_key,
    paired.period_start AS period_start,
    paired.previous_value AS previous_value,
    COALESCE(paired.current_value, 0) AS current_value,
    CASE WHEN COALESCE(paired.current_value, 0) = 0 THEN 1 ELSE 0 END AS churned
  FROM net_revenue_retention__paired AS paired
  CROSS JOIN net_revenue_retention__observed AS observed
  WHERE
    paired.previous_value > 0 AND paired.period_start <= observed.last_period
), net_revenue_retention_agg AS (
  SELECT
    CAST(DATE_TRUNC('MONTH', CAST(net_revenue_retention.period_start AS DATE)) AS DATE) AS metric_time__month,
    SUM(net_revenue_retention.current_value) AS current_value,
    SUM(net_revenue_retention.previous_value) AS previous_value
  FROM net_revenue_retention_agg_narrowed_source AS net_revenue_retention
  WHERE
    net_revenue_retention.period_start >= CAST('2025-07-01' AS TIMESTAMP)
    AND net_revenue_retention.period_start < CAST('2026-06-30' AS TIMESTAMP) + INTERVAL '1 DAY'
  GROUP BY
    CAST(DATE_TRUNC('MONTH', CAST(net_revenue_retention.period_start AS DATE)) AS DATE)
), subscription_churn_rate__activity_rows AS (
  SELECT
    subscription_snapshots.subscription_id AS entity_key,
    subscription_snapshots.snapshot_date AS event_at,
    1 AS event_value
  FROM subscription_snapshots AS subscription_snapshots
  WHERE
    (
      NOT subscription_snapshots.subscription_id IS NULL
      AND NOT subscription_snapshots.snapshot_date IS NULL
    )
    AND subscription_snapshots.snapshot_date >= CAST('2025-06-01' AS TIMESTAMP)
    AND subscription_snapshots.snapshot_date < CAST('2026-06-30' AS TIMESTAMP) + INTERVAL '1 DAY'
), subscription_churn_rate__active_days AS (
  SELECT
    entity_key,
    CAST(event_at AS DATE) AS active_day,
    event_value
  FROM subscription_churn_rate__activity_rows AS activity_rows
), subscription_churn_rate__period_edges AS (
  SELECT
    CAST(DATE_TRUNC('MONTH', CAST(active_day AS DATE)) AS DATE) AS period_start,
    MAX(active_day) AS edge_day
  FROM (
    SELECT
      CAST(event_at AS DATE) AS active_day
    FROM (
      SELECT
        subscription_snapshots.subscription_id AS entity_key,
        subscription_snapshots.snapshot_date AS event_at,
        1 AS event_value
      FROM subscription_snapshots AS subscription_snapshots
      WHERE
        (
          NOT subscription_snapshots.subscription_id IS NULL
          AND NOT subscription_snapshots.snapshot_date IS NULL
        )
        AND subscription_snapshots.snapshot_date >= CAST('2025-06-01' AS TIMESTAMP)
        AND subscription_snapshots.snapshot_date < CAST('2026-06-30' AS TIMESTAMP) + INTERVAL '1 DAY'
    ) AS activity_rows
  ) AS active_days
  GROUP BY
    CAST(DATE_TRUNC('MONTH', CAST(active_day AS DATE)) AS DATE)
), subscription_churn_rate__per_period AS (
  SELECT
    active_days.entity_key AS entity_key,
    CAST(DATE_TRUNC('MONTH', CAST(active_days.active_day AS DATE)) AS DATE) AS period_start,
    COUNT(*) AS period_value
  FROM subscription_churn_rate__active_days AS active_days
  INNER JOIN subscription_churn_rate__period_edges AS period_edges
    ON active_days.active_day = period_edges.edge_day
  GROUP BY
    active_days.entity_key,
    CAST(DATE_TRUNC('MONTH', CAST(active_days.active_day AS DATE)) AS DATE)
), subscription_churn_rate__paired AS (
  SELECT
    per_period.entity_key AS entity_key,
    CASE
      WHEN sides.side = 1
      THEN CAST(CAST(per_period.period_start AS DATE) + INTERVAL '1 MONTH' AS DATE)
      ELSE CAST(per_period.period_start AS DATE)
    END AS period_start,
    MAX(CASE WHEN sides.side = 1 THEN per_period.period_value END) AS previous_value,
    MAX(CASE WHEN sides.side = 0 THEN per_period.period_value END) AS current_value
  FROM subscription_churn_rate__per_period AS per_period
  CROSS JOIN (
    SELECT
      0 AS side
    UNION ALL
    SELECT
      1 AS side
  ) AS sides
  GROUP BY
    per_period.entity_key,
    CASE
      WHEN sides.side = 1
      THEN CAST(CAST(per_period.period_start AS DATE) + INTERVAL '1 MONTH' AS DATE)
      ELSE CAST(per_period.period_start AS DATE)
    END
), subscription_churn_rate__observed AS MATERIALIZED (
  SELECT
    MAX(period_start) AS last_period
  FROM subscription_churn_rate__per_period AS per_period
), subscription_churn_rate_agg_narrowed_source AS (
  SELECT
    paired.entity_key AS entity_key,
    paired.period_start AS period_start,
    paired.previous_value AS previous_value,
    COALESCE(paired.current_value, 0) AS current_value,
    CASE WHEN COALESCE(paired.current_value, 0) = 0 THEN 1 ELSE 0 END AS churned
  FROM subscription_churn_rate__paired AS paired
  CROSS JOIN subscription_churn_rate__observed AS observed
  WHERE
    paired.previous_value > 0 AND paired.period_start <= observed.last_period
), subscription_churn_rate_agg AS (
  SELECT
    CAST(DATE_TRUNC('MONTH', CAST(subscription_churn_rate.period_start AS DATE)) AS DATE) AS metric_time__month,
    SUM(CASE WHEN subscription_churn_rate.churned = 1 THEN 1 ELSE 0 END) AS churned,
    COUNT(*) AS previous
  FROM subscription_churn_rate_agg_narrowed_source AS subscription_churn_rate
  WHERE
    subscription_churn_rate.period_start >= CAST('2025-07-01' AS TIMESTAMP)
    AND subscription_churn_rate.period_start < CAST('2026-06-30' AS TIMESTAMP) + INTERVAL '1 DAY'
  GROUP BY
    CAST(DATE_TRUNC('MONTH', CAST(subscription_churn_rate.period_start AS DATE)) AS DATE)
), grain_keys AS (
  SELECT
    net_revenue_retention_agg.metric_time__month
  FROM net_revenue_retention_agg
  UNION
  SELECT
    subscription_churn_rate_agg.metric_time__month
  FROM subscription_churn_rate_agg
)
SELECT
  grain_keys.metric_time__month AS metric_time__month,
  CAST(net_revenue_retention_agg.current_value AS DOUBLE PRECISION) / NULLIF(net_revenue_retention_agg.previous_value, 0) AS net_revenue_retention,
  CAST(COALESCE(subscription_churn_rate_agg.churned, 0) AS DOUBLE PRECISION) / NULLIF(COALESCE(subscription_churn_rate_agg.previous, 0), 0) AS subscription_churn_rate
FROM grain_keys
LEFT JOIN net_revenue_retention_agg
  ON grain_keys.metric_time__month = net_revenue_retention_agg.metric_time__month
LEFT JOIN subscription_churn_rate_agg
  ON grain_keys.metric_time__month = subscription_churn_rate_agg.metric_time__month
ORDER BY
  metric_time__month

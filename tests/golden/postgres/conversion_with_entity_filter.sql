WITH trial_to_paid_rate__base_rows AS (
  SELECT
    trials.user_id AS entity_key,
    trials.started_at AS event_at
  FROM trials AS trials
  WHERE
    NOT trials.user_id IS NULL AND NOT trials.started_at IS NULL
), trial_to_paid_rate__first_base AS (
  SELECT
    entity_key,
    MIN(event_at) AS base_at
  FROM trial_to_paid_rate__base_rows AS base_rows
  WHERE
    entity_key IN (
      SELECT
        users.user_id
      FROM users AS users
      WHERE
        users.country = 'DE'
    )
  GROUP BY
    entity_key
  HAVING
    CAST(MIN(event_at) AS DATE) BETWEEN CAST('2026-01-05' AS DATE) AND CAST('2026-03-29' AS DATE)
), trial_to_paid_rate_agg_narrowed_source AS (
  SELECT
    first_base.entity_key AS entity_key,
    first_base.base_at AS base_at,
    CASE
      WHEN EXISTS(
        SELECT
          1
        FROM (
          SELECT
            subscriptions.user_id AS entity_key,
            subscriptions.started_at AS event_at
          FROM subscriptions AS subscriptions
          WHERE
            NOT subscriptions.user_id IS NULL AND NOT subscriptions.started_at IS NULL
        ) AS conversion_rows
        WHERE
          (
            conversion_rows.entity_key = first_base.entity_key
            AND conversion_rows.event_at >= first_base.base_at
          )
          AND CAST(conversion_rows.event_at AS DATE) <= (
            CAST(first_base.base_at AS DATE) + INTERVAL '14 DAY'
          )
      )
      THEN 1
      ELSE 0
    END AS converted
  FROM trial_to_paid_rate__first_base AS first_base
), trial_to_paid_rate_agg AS (
  SELECT
    CAST(DATE_TRUNC('WEEK', CAST(trial_to_paid_rate.base_at AS DATE)) AS DATE) AS metric_time__week,
    SUM(CASE WHEN trial_to_paid_rate.converted = 1 THEN 1 ELSE 0 END) AS conversions,
    COUNT(*) AS base
  FROM trial_to_paid_rate_agg_narrowed_source AS trial_to_paid_rate
  GROUP BY
    CAST(DATE_TRUNC('WEEK', CAST(trial_to_paid_rate.base_at AS DATE)) AS DATE)
)
SELECT
  trial_to_paid_rate_agg.metric_time__week AS metric_time__week,
  CAST(COALESCE(trial_to_paid_rate_agg.conversions, 0) AS DOUBLE PRECISION) / NULLIF(COALESCE(trial_to_paid_rate_agg.base, 0), 0) AS trial_to_paid_rate
FROM trial_to_paid_rate_agg
ORDER BY
  metric_time__week

WITH trial_to_paid_rate_agg_narrowed_source AS (
  WITH trial_to_paid_rate__base_rows AS (
    SELECT
      trials.user_id AS entity_key,
      trials.started_at AS event_at
    FROM trials AS trials
    WHERE
      NOT (
        trials.user_id IS NULL
      ) AND NOT (
        trials.started_at IS NULL
      )
  ), trial_to_paid_rate__conversion_rows AS (
    SELECT
      subscriptions.user_id AS entity_key,
      subscriptions.started_at AS event_at
    FROM subscriptions AS subscriptions
    WHERE
      NOT (
        subscriptions.user_id IS NULL
      )
      AND NOT (
        subscriptions.started_at IS NULL
      )
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
      toDate32(MIN(event_at)) BETWEEN CAST('2026-01-05' AS Nullable(Date32)) AND CAST('2026-03-29' AS Nullable(Date32))
  ), trial_to_paid_rate__converted AS (
    SELECT
      first_base.entity_key AS entity_key,
      MIN(conversion_rows.event_at) AS converted_at
    FROM trial_to_paid_rate__conversion_rows AS conversion_rows
    INNER JOIN trial_to_paid_rate__first_base AS first_base
      ON conversion_rows.entity_key = first_base.entity_key
    WHERE
      conversion_rows.event_at >= first_base.base_at
    GROUP BY
      first_base.entity_key
  )
  SELECT
    first_base.entity_key AS entity_key,
    first_base.base_at AS base_at,
    CASE
      WHEN NOT (
        converted.converted_at IS NULL
      )
      AND toDate32(converted.converted_at) <= DATE_ADD(DAY, 14, toDate32(first_base.base_at))
      THEN 1
      ELSE 0
    END AS converted
  FROM trial_to_paid_rate__first_base AS first_base
  LEFT JOIN trial_to_paid_rate__converted AS converted
    ON converted.entity_key = first_base.entity_key
)
SELECT
  toDate32(dateTrunc('WEEK', toDate32(trial_to_paid_rate.base_at))) AS metric_time__week,
  CAST(COALESCE(SUM(CASE WHEN trial_to_paid_rate.converted = 1 THEN 1 ELSE 0 END), 0) AS Nullable(Float64)) / nullIf(COALESCE(COUNT(*), 0), 0) AS trial_to_paid_rate
FROM trial_to_paid_rate_agg_narrowed_source AS trial_to_paid_rate
GROUP BY
  toDate32(dateTrunc('WEEK', toDate32(trial_to_paid_rate.base_at)))
ORDER BY
  metric_time__week

WITH users_agg AS (
  SELECT
    CAST(DATE_TRUNC('MONTH', CAST(users.signed_up_at AS DATE)) AS DATE) AS metric_time__month,
    COUNT(*) AS signups
  FROM users AS users
  GROUP BY
    CAST(DATE_TRUNC('MONTH', CAST(users.signed_up_at AS DATE)) AS DATE)
), events_per_day AS (
  SELECT
    CAST(events.occurred_at AS DATE) AS period_start,
    COUNT(DISTINCT events.user_id) AS active_users
  FROM events AS events
  WHERE
    NOT events.event_type IN ('email_open', 'login_failed')
  GROUP BY
    CAST(events.occurred_at AS DATE)
), events_per_day_bounds AS (
  SELECT
    MIN(CAST(events.occurred_at AS DATE)) AS first_day,
    MAX(CAST(events.occurred_at AS DATE)) AS last_day
  FROM events AS events
), events_per_day_rollup AS (
  SELECT
    CAST(DATE_TRUNC('MONTH', CAST(events_per_day.period_start AS DATE)) AS DATE) AS metric_time__month,
    CAST(SUM(events_per_day.active_users) AS DOUBLE PRECISION) / MAX(
      DATEDIFF(
        DAY,
        GREATEST(
          events_per_day_bounds.first_day,
          CAST(DATE_TRUNC('MONTH', CAST(events_per_day.period_start AS DATE)) AS DATE)
        ),
        LEAST(
          events_per_day_bounds.last_day,
          CAST(DATEADD(
            MONTH,
            1,
            CAST(DATE_TRUNC('MONTH', CAST(events_per_day.period_start AS DATE)) AS DATE)
          ) - INTERVAL '1 DAY' AS DATE)
        )
      ) + 1
    ) AS active_users
  FROM events_per_day
  CROSS JOIN events_per_day_bounds
  WHERE
    NOT events_per_day.period_start IS NULL
  GROUP BY
    CAST(DATE_TRUNC('MONTH', CAST(events_per_day.period_start AS DATE)) AS DATE)
), subscriptions_agg AS (
  SELECT
    CAST(DATE_TRUNC('MONTH', CAST(subscriptions.started_at AS DATE)) AS DATE) AS metric_time__month,
    SUM(subscriptions.mrr) AS new_mrr
  FROM subscriptions AS subscriptions
  GROUP BY
    CAST(DATE_TRUNC('MONTH', CAST(subscriptions.started_at AS DATE)) AS DATE)
), subscription_snapshots_last_snapshot_days AS (
  SELECT
    CAST(subscription_snapshots.snapshot_date AS DATE) AS snapshot_day,
    COUNT(DISTINCT subscription_snapshots.user_id) AS paying_customers
  FROM subscription_snapshots AS subscription_snapshots
  GROUP BY
    CAST(subscription_snapshots.snapshot_date AS DATE)
), subscription_snapshots_last_snapshot_periods AS (
  SELECT
    CAST(DATE_TRUNC('MONTH', CAST(subscription_snapshots_last_snapshot_days.snapshot_day AS DATE)) AS DATE) AS metric_time__month,
    subscription_snapshots_last_snapshot_days.paying_customers,
    subscription_snapshots_last_snapshot_days.snapshot_day,
    MAX(subscription_snapshots_last_snapshot_days.snapshot_day) OVER (
      PARTITION BY CAST(DATE_TRUNC('MONTH', CAST(subscription_snapshots_last_snapshot_days.snapshot_day AS DATE)) AS DATE)
    ) AS last_period
  FROM subscription_snapshots_last_snapshot_days
), subscription_snapshots_last_snapshot AS (
  SELECT
    subscription_snapshots_last_snapshot_periods.metric_time__month,
    subscription_snapshots_last_snapshot_periods.paying_customers
  FROM subscription_snapshots_last_snapshot_periods
  WHERE
    subscription_snapshots_last_snapshot_periods.snapshot_day = subscription_snapshots_last_snapshot_periods.last_period
), grain_keys AS (
  SELECT
    users_agg.metric_time__month
  FROM users_agg
  UNION
  SELECT
    events_per_day_rollup.metric_time__month
  FROM events_per_day_rollup
  UNION
  SELECT
    subscriptions_agg.metric_time__month
  FROM subscriptions_agg
  UNION
  SELECT
    subscription_snapshots_last_snapshot.metric_time__month
  FROM subscription_snapshots_last_snapshot
)
SELECT
  grain_keys.metric_time__month AS metric_time__month,
  COALESCE(users_agg.signups, 0) AS signups,
  COALESCE(events_per_day_rollup.active_users, 0) AS daily_active_users,
  subscriptions_agg.new_mrr AS new_mrr,
  COALESCE(subscription_snapshots_last_snapshot.paying_customers, 0) AS paying_customers
FROM grain_keys
LEFT JOIN users_agg
  ON (
    grain_keys.metric_time__month = users_agg.metric_time__month
    OR (
      grain_keys.metric_time__month IS NULL AND users_agg.metric_time__month IS NULL
    )
  )
LEFT JOIN events_per_day_rollup
  ON (
    grain_keys.metric_time__month = events_per_day_rollup.metric_time__month
    OR (
      grain_keys.metric_time__month IS NULL
      AND events_per_day_rollup.metric_time__month IS NULL
    )
  )
LEFT JOIN subscriptions_agg
  ON (
    grain_keys.metric_time__month = subscriptions_agg.metric_time__month
    OR (
      grain_keys.metric_time__month IS NULL
      AND subscriptions_agg.metric_time__month IS NULL
    )
  )
LEFT JOIN subscription_snapshots_last_snapshot
  ON (
    grain_keys.metric_time__month = subscription_snapshots_last_snapshot.metric_time__month
    OR (
      grain_keys.metric_time__month IS NULL
      AND subscription_snapshots_last_snapshot.metric_time__month IS NULL
    )
  )
ORDER BY
  metric_time__month

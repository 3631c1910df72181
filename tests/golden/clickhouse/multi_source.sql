WITH users_agg AS (
  SELECT
    toDate32(dateTrunc('MONTH', toDate32(users.signed_up_at))) AS metric_time__month,
    COUNT(*) AS signups
  FROM users AS users
  GROUP BY
    toDate32(dateTrunc('MONTH', toDate32(users.signed_up_at)))
), events_per_day AS (
  SELECT
    toDate32(events.occurred_at) AS period_start,
    COUNT(DISTINCT events.user_id) AS active_users
  FROM events AS events
  WHERE
    NOT (
      events.event_type IN ('email_open', 'login_failed')
    )
  GROUP BY
    toDate32(events.occurred_at)
), events_per_day_bounds AS (
  SELECT
    MIN(toDate32(events.occurred_at)) AS first_day,
    MAX(toDate32(events.occurred_at)) AS last_day
  FROM events AS events
), events_per_day_rollup AS (
  SELECT
    toDate32(dateTrunc('MONTH', toDate32(events_per_day.period_start))) AS metric_time__month,
    CAST(SUM(events_per_day.active_users) AS Nullable(Float64)) / MAX(
      DATE_DIFF(
        DAY,
        GREATEST(
          events_per_day_bounds.first_day,
          toDate32(dateTrunc('MONTH', toDate32(events_per_day.period_start)))
        ),
        LEAST(
          events_per_day_bounds.last_day,
          toDate32(
            DATE_SUB(
              DAY,
              1,
              DATE_ADD(MONTH, 1, toDate32(dateTrunc('MONTH', toDate32(events_per_day.period_start))))
            )
          )
        )
      ) + 1
    ) AS active_users
  FROM events_per_day
  CROSS JOIN events_per_day_bounds
  WHERE
    NOT (
      events_per_day.period_start IS NULL
    )
  GROUP BY
    toDate32(dateTrunc('MONTH', toDate32(events_per_day.period_start)))
), subscriptions_agg AS (
  SELECT
    toDate32(dateTrunc('MONTH', toDate32(subscriptions.started_at))) AS metric_time__month,
    SUM(subscriptions.mrr) AS new_mrr
  FROM subscriptions AS subscriptions
  GROUP BY
    toDate32(dateTrunc('MONTH', toDate32(subscriptions.started_at)))
), subscription_snapshots_last_snapshot_days AS (
  SELECT
    toDate32(subscription_snapshots.snapshot_date) AS snapshot_day,
    COUNT(DISTINCT subscription_snapshots.user_id) AS paying_customers
  FROM subscription_snapshots AS subscription_snapshots
  GROUP BY
    toDate32(subscription_snapshots.snapshot_date)
), subscription_snapshots_last_snapshot_periods AS (
  SELECT
    toDate32(
      dateTrunc('MONTH', toDate32(subscription_snapshots_last_snapshot_days.snapshot_day))
    ) AS metric_time__month,
    subscription_snapshots_last_snapshot_days.paying_customers,
    subscription_snapshots_last_snapshot_days.snapshot_day,
    MAX(subscription_snapshots_last_snapshot_days.snapshot_day) OVER (
      PARTITION BY toDate32(
        dateTrunc('MONTH', toDate32(subscription_snapshots_last_snapshot_days.snapshot_day))
      )
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
  UNION DISTINCT
  SELECT
    events_per_day_rollup.metric_time__month
  FROM events_per_day_rollup
  UNION DISTINCT
  SELECT
    subscriptions_agg.metric_time__month
  FROM subscriptions_agg
  UNION DISTINCT
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
  ON grain_keys.metric_time__month IS NOT DISTINCT FROM users_agg.metric_time__month
LEFT JOIN events_per_day_rollup
  ON grain_keys.metric_time__month IS NOT DISTINCT FROM events_per_day_rollup.metric_time__month
LEFT JOIN subscriptions_agg
  ON grain_keys.metric_time__month IS NOT DISTINCT FROM subscriptions_agg.metric_time__month
LEFT JOIN subscription_snapshots_last_snapshot
  ON grain_keys.metric_time__month IS NOT DISTINCT FROM subscription_snapshots_last_snapshot.metric_time__month
ORDER BY
  metric_time__month

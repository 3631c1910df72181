WITH users_agg AS (
  SELECT
    DATE(users.signed_up_at, 'start of month') AS metric_time__month,
    COUNT(*) AS signups
  FROM users AS users
  GROUP BY
    DATE(users.signed_up_at, 'start of month')
), events_per_day AS (
  SELECT
    DATE(events.occurred_at) AS period_start,
    COUNT(DISTINCT events.user_id) AS active_users
  FROM events AS events
  WHERE
    NOT events.event_type IN ('email_open', 'login_failed')
  GROUP BY
    DATE(events.occurred_at)
), events_per_day_bounds AS (
  SELECT
    MIN(DATE(events.occurred_at)) AS first_day,
    MAX(DATE(events.occurred_at)) AS last_day
  FROM events AS events
), events_per_day_rollup AS (
  SELECT
    DATE(events_per_day.period_start, 'start of month') AS metric_time__month,
    CAST(SUM(events_per_day.active_users) AS REAL) / MAX(
      CAST((JULIANDAY(MIN(
        COALESCE(
          events_per_day_bounds.last_day,
          DATE(
            MIN(
              DATE(events_per_day.period_start, 'start of month', '+1 months'),
              DATE(events_per_day.period_start, 'start of month', 'start of month', '+2 months', '-1 day')
            ),
            '-1 days'
          )
        ),
        COALESCE(
          DATE(
            MIN(
              DATE(events_per_day.period_start, 'start of month', '+1 months'),
              DATE(events_per_day.period_start, 'start of month', 'start of month', '+2 months', '-1 day')
            ),
            '-1 days'
          ),
          events_per_day_bounds.last_day
        )
      )) - JULIANDAY(MAX(
        COALESCE(
          events_per_day_bounds.first_day,
          DATE(events_per_day.period_start, 'start of month')
        ),
        COALESCE(
          DATE(events_per_day.period_start, 'start of month'),
          events_per_day_bounds.first_day
        )
      ))) AS INTEGER) + 1
    ) AS active_users
  FROM events_per_day
  CROSS JOIN events_per_day_bounds
  WHERE
    NOT events_per_day.period_start IS NULL
  GROUP BY
    DATE(events_per_day.period_start, 'start of month')
), subscriptions_agg AS (
  SELECT
    DATE(subscriptions.started_at, 'start of month') AS metric_time__month,
    SUM(subscriptions.mrr) AS new_mrr
  FROM subscriptions AS subscriptions
  GROUP BY
    DATE(subscriptions.started_at, 'start of month')
), subscription_snapshots_last_snapshot_days AS (
  SELECT
    DATE(subscription_snapshots.snapshot_date) AS snapshot_day,
    COUNT(DISTINCT subscription_snapshots.user_id) AS paying_customers
  FROM subscription_snapshots AS subscription_snapshots
  GROUP BY
    DATE(subscription_snapshots.snapshot_date)
), subscription_snapshots_last_snapshot_periods AS (
  SELECT
    DATE(subscription_snapshots_last_snapshot_days.snapshot_day, 'start of month') AS metric_time__month,
    subscription_snapshots_last_snapshot_days.paying_customers,
    subscription_snapshots_last_snapshot_days.snapshot_day,
    MAX(subscription_snapshots_last_snapshot_days.snapshot_day) OVER (
      PARTITION BY DATE(subscription_snapshots_last_snapshot_days.snapshot_day, 'start of month')
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
  ON grain_keys.metric_time__month IS users_agg.metric_time__month
LEFT JOIN events_per_day_rollup
  ON grain_keys.metric_time__month IS events_per_day_rollup.metric_time__month
LEFT JOIN subscriptions_agg
  ON grain_keys.metric_time__month IS subscriptions_agg.metric_time__month
LEFT JOIN subscription_snapshots_last_snapshot
  ON grain_keys.metric_time__month IS subscription_snapshots_last_snapshot.metric_time__month
ORDER BY
  metric_time__month NULLS LAST

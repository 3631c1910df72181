WITH users_agg AS (
  SELECT
    COUNT(*) AS signups
  FROM users AS users
  WHERE
    DATE(users.signed_up_at) >= DATE('2026-01-01')
    AND DATE(users.signed_up_at) <= DATE('2026-01-31')
), events_per_day_periods AS (
  SELECT
    COUNT(DISTINCT DATE(events.occurred_at)) AS period_count
  FROM events AS events
  WHERE
    DATE(events.occurred_at) >= DATE('2026-01-01')
    AND DATE(events.occurred_at) <= DATE('2026-01-31')
), events_per_day AS (
  SELECT
    DATE(events.occurred_at) AS period_start,
    COUNT(DISTINCT events.user_id) AS active_users
  FROM events AS events
  WHERE
    DATE(events.occurred_at) >= DATE('2026-01-01')
    AND DATE(events.occurred_at) <= DATE('2026-01-31')
    AND NOT events.event_type IN ('email_open', 'login_failed')
  GROUP BY
    DATE(events.occurred_at)
), events_per_day_rollup AS (
  SELECT
    CAST(SUM(events_per_day.active_users) AS REAL) / MAX(events_per_day_periods.period_count) AS active_users
  FROM events_per_day
  CROSS JOIN events_per_day_periods
), subscription_snapshots_last_snapshot_periods AS (
  SELECT
    MAX(DATE(subscription_snapshots.snapshot_date)) AS last_period
  FROM subscription_snapshots AS subscription_snapshots
  WHERE
    DATE(subscription_snapshots.snapshot_date) >= DATE('2026-01-01')
    AND DATE(subscription_snapshots.snapshot_date) <= DATE('2026-01-31')
), subscription_snapshots_last_snapshot AS (
  SELECT
    SUM(subscription_snapshots.mrr) AS mrr
  FROM subscription_snapshots AS subscription_snapshots
  CROSS JOIN subscription_snapshots_last_snapshot_periods
    ON DATE(subscription_snapshots.snapshot_date) = subscription_snapshots_last_snapshot_periods.last_period
  WHERE
    DATE(subscription_snapshots.snapshot_date) >= DATE('2026-01-01')
    AND DATE(subscription_snapshots.snapshot_date) <= DATE('2026-01-31')
)
SELECT
  COALESCE(users_agg.signups, 0) AS signups,
  COALESCE(events_per_day_rollup.active_users, 0) AS daily_active_users,
  subscription_snapshots_last_snapshot.mrr AS mrr
FROM users_agg
CROSS JOIN events_per_day_rollup
CROSS JOIN subscription_snapshots_last_snapshot

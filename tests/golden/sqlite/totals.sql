WITH users_agg AS (
  SELECT
    COUNT(*) AS signups
  FROM users AS users
  WHERE
    users.signed_up_at >= DATE('2026-01-01', '-1 day')
    AND users.signed_up_at < DATE('2026-01-31', '+2 days')
    AND DATE(users.signed_up_at) BETWEEN DATE('2026-01-01') AND DATE('2026-01-31')
), events_per_day AS (
  SELECT
    DATE(events.occurred_at) AS period_start,
    COUNT(DISTINCT events.user_id) AS active_users
  FROM events AS events
  WHERE
    events.occurred_at >= DATE('2026-01-01', '-1 day')
    AND events.occurred_at < DATE('2026-01-31', '+2 days')
    AND NOT events.event_type IN ('email_open', 'login_failed')
    AND DATE(events.occurred_at) BETWEEN DATE('2026-01-01') AND DATE('2026-01-31')
  GROUP BY
    DATE(events.occurred_at)
), events_per_day_rollup AS (
  SELECT
    CAST(SUM(events_per_day.active_users) AS REAL) / MAX(
      CAST((JULIANDAY(DATE('2026-01-31')) - JULIANDAY(DATE('2026-01-01'))) AS INTEGER) + 1
    ) AS active_users
  FROM events_per_day
), subscription_snapshots_last_snapshot_days_written AS (
  SELECT
    subscription_snapshots.snapshot_date AS snapshot_day,
    SUM(subscription_snapshots.mrr) AS mrr
  FROM subscription_snapshots AS subscription_snapshots
  WHERE
    subscription_snapshots.snapshot_date >= DATE('2026-01-01', '-1 day')
    AND subscription_snapshots.snapshot_date < DATE('2026-01-31', '+2 days')
  GROUP BY
    subscription_snapshots.snapshot_date
), subscription_snapshots_last_snapshot_days AS (
  SELECT
    DATE(subscription_snapshots_last_snapshot_days_written.snapshot_day) AS snapshot_day,
    SUM(subscription_snapshots_last_snapshot_days_written.mrr) AS mrr
  FROM subscription_snapshots_last_snapshot_days_written
  WHERE
    DATE(subscription_snapshots_last_snapshot_days_written.snapshot_day) BETWEEN DATE('2026-01-01') AND DATE('2026-01-31')
  GROUP BY
    DATE(subscription_snapshots_last_snapshot_days_written.snapshot_day)
), subscription_snapshots_last_snapshot_periods AS (
  SELECT
    subscription_snapshots_last_snapshot_days.mrr,
    subscription_snapshots_last_snapshot_days.snapshot_day,
    MAX(subscription_snapshots_last_snapshot_days.snapshot_day) OVER () AS last_period
  FROM subscription_snapshots_last_snapshot_days
), subscription_snapshots_last_snapshot AS (
  SELECT
    subscription_snapshots_last_snapshot_periods.mrr
  FROM subscription_snapshots_last_snapshot_periods
  WHERE
    subscription_snapshots_last_snapshot_periods.snapshot_day = subscription_snapshots_last_snapshot_periods.last_period
)
SELECT
  COALESCE(users_agg.signups, 0) AS signups,
  COALESCE(events_per_day_rollup.active_users, 0) AS daily_active_users,
  subscription_snapshots_last_snapshot.mrr AS mrr
FROM users_agg
CROSS JOIN events_per_day_rollup
CROSS JOIN subscription_snapshots_last_snapshot

WITH users_agg AS (
  SELECT
    COUNT(*) AS signups
  FROM users AS users
  WHERE
    toDate32(users.signed_up_at) BETWEEN CAST('2026-01-01' AS Nullable(Date32)) AND CAST('2026-01-31' AS Nullable(Date32))
), events_per_day AS (
  SELECT
    COUNT(DISTINCT events.user_id) AS active_users
  FROM events AS events
  WHERE
    NOT (
      events.event_type IN ('email_open', 'login_failed')
    )
    AND toDate32(events.occurred_at) BETWEEN CAST('2026-01-01' AS Nullable(Date32)) AND CAST('2026-01-31' AS Nullable(Date32))
  GROUP BY
    toDate32(events.occurred_at)
), events_per_day_rollup AS (
  SELECT
    CAST(SUM(events_per_day.active_users) AS Nullable(Float64)) / MAX(
      DATE_DIFF(DAY, CAST('2026-01-01' AS Nullable(Date32)), CAST('2026-01-31' AS Nullable(Date32))) + 1
    ) AS active_users
  FROM events_per_day
), subscription_snapshots_last_snapshot_days AS (
  SELECT
    toDate32(subscription_snapshots.snapshot_date) AS snapshot_day,
    SUM(subscription_snapshots.mrr) AS mrr
  FROM subscription_snapshots AS subscription_snapshots
  WHERE
    toDate32(subscription_snapshots.snapshot_date) BETWEEN CAST('2026-01-01' AS Nullable(Date32)) AND CAST('2026-01-31' AS Nullable(Date32))
  GROUP BY
    toDate32(subscription_snapshots.snapshot_date)
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

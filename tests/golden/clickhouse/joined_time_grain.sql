SELECT
  toDate32(dateTrunc('MONTH', toDate32(users.signed_up_at))) AS user__signed_up_at__month,
  CAST(COALESCE(COUNT(*), 0) AS Nullable(Float64)) / nullIf(COALESCE(COUNT(DISTINCT events.user_id), 0), 0) AS events_per_active_user
FROM events AS events
LEFT JOIN users AS users
  ON events.user_id = users.user_id
WHERE
  NOT (
    events.event_type IN ('email_open', 'login_failed')
  )
GROUP BY
  toDate32(dateTrunc('MONTH', toDate32(users.signed_up_at)))
ORDER BY
  user__signed_up_at__month

SELECT
  CAST(toDayOfWeek(toDate32(users.signed_up_at)) AS Nullable(Int32)) AS metric_time__day_of_week,
  CAST(toISOWeek(toDate32(users.signed_up_at)) AS Nullable(Int32)) AS metric_time__week_of_year,
  CAST(EXTRACT(HOUR FROM users.signed_up_at) AS Nullable(Int32)) AS metric_time__hour_of_day,
  COALESCE(COUNT(*), 0) AS signups
FROM users AS users
WHERE
  CAST(toDayOfYear(toDate32(users.signed_up_at)) AS Nullable(Int32)) <= 90
  AND CAST(EXTRACT(MONTH FROM toDate32(users.signed_up_at)) AS Nullable(Int32)) IN (1, 2)
GROUP BY
  CAST(toDayOfWeek(toDate32(users.signed_up_at)) AS Nullable(Int32)),
  CAST(toISOWeek(toDate32(users.signed_up_at)) AS Nullable(Int32)),
  CAST(EXTRACT(HOUR FROM users.signed_up_at) AS Nullable(Int32))
ORDER BY
  metric_time__day_of_week,
  metric_time__week_of_year,
  metric_time__hour_of_day

WITH events_agg AS (
  SELECT
    CAST(DATE_SUB(
      CAST(users.signed_up_at AS DATE),
      INTERVAL (DAYOFMONTH(CAST(users.signed_up_at AS DATE)) - 1) DAY
    ) AS DATE) AS user__signed_up_at__month,
    COUNT(*) AS events,
    COUNT(DISTINCT CAST(events.user_id AS BINARY)) AS active_users
  FROM events AS events
  LEFT JOIN users AS users
    ON events.user_id = users.user_id
  WHERE
    NOT events.event_type IN (CAST('email_open' AS BINARY), CAST('login_failed' AS BINARY))
  GROUP BY
    CAST(DATE_SUB(
      CAST(users.signed_up_at AS DATE),
      INTERVAL (DAYOFMONTH(CAST(users.signed_up_at AS DATE)) - 1) DAY
    ) AS DATE)
)
SELECT
  events_agg.user__signed_up_at__month AS user__signed_up_at__month,
  CAST(COALESCE(events_agg.events, 0) AS DOUBLE) / NULLIF(COALESCE(events_agg.active_users, 0), 0) AS events_per_active_user
FROM events_agg
ORDER BY
  CASE WHEN events_agg.user__signed_up_at__month IS NULL THEN 1 ELSE 0 END, events_agg.user__signed_up_at__month

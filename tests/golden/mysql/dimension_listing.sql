WITH users_agg AS (
  SELECT
    users.plan AS user__plan,
    users.country AS user__country
  FROM users AS users
  GROUP BY
    users.plan,
    users.country,
    CAST(users.plan AS BINARY),
    CAST(users.country AS BINARY)
)
SELECT
  users_agg.user__plan AS user__plan,
  users_agg.user__country AS user__country
FROM users_agg
ORDER BY
  CASE WHEN users_agg.user__country IS NULL THEN 1 ELSE 0 END, users_agg.user__country ASC,
  CASE WHEN users_agg.user__plan IS NULL THEN 1 ELSE 0 END, users_agg.user__plan ASC

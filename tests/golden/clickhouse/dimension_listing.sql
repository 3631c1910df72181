WITH users_agg AS (
  SELECT DISTINCT
    users.plan AS user__plan,
    users.country AS user__country
  FROM users AS users
)
SELECT
  users_agg.user__plan AS user__plan,
  users_agg.user__country AS user__country
FROM users_agg
ORDER BY
  user__country ASC,
  user__plan ASC

WITH users_source AS (
  SELECT
    users.*,
    EXISTS(
      SELECT
        1
      FROM subscriptions
      WHERE
        subscriptions.user_id = users.user_id
    ) AS ever_paid,
    (
      SELECT
        MIN(subscriptions.started_at)
      FROM subscriptions
      WHERE
        subscriptions.user_id = users.user_id
    ) AS first_paid_at
  FROM users
), users_agg AS (
  SELECT
    users.plan AS user__plan,
    users.country AS user__country
  FROM users_source AS users
  GROUP BY
    users.plan,
    users.country
)
SELECT
  users_agg.user__plan AS user__plan,
  users_agg.user__country AS user__country
FROM users_agg
ORDER BY
  user__country ASC,
  user__plan ASC

SELECT
  subscriptions.user_id AS "user",
  SUM(subscriptions.mrr) AS new_mrr
FROM subscriptions AS subscriptions
GROUP BY
  subscriptions.user_id
ORDER BY
  new_mrr DESC,
  "user" ASC
LIMIT 10

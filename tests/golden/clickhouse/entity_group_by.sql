WITH subscriptions_agg AS (
  SELECT
    subscriptions.user_id AS "user",
    SUM(subscriptions.mrr) AS new_mrr
  FROM subscriptions AS subscriptions
  GROUP BY
    subscriptions.user_id
)
SELECT
  subscriptions_agg."user" AS "user",
  subscriptions_agg.new_mrr AS new_mrr
FROM subscriptions_agg
ORDER BY
  new_mrr DESC,
  "user" ASC
LIMIT 10

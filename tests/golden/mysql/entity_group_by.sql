WITH subscriptions_agg AS (
  SELECT
    subscriptions.user_id AS `user`,
    SUM(subscriptions.mrr) AS new_mrr
  FROM subscriptions AS subscriptions
  GROUP BY
    subscriptions.user_id,
    CAST(subscriptions.user_id AS BINARY)
)
SELECT
  subscriptions_agg.`user` AS `user`,
  subscriptions_agg.new_mrr AS new_mrr
FROM subscriptions_agg
ORDER BY
  new_mrr DESC,
  CASE WHEN subscriptions_agg.`user` IS NULL THEN 1 ELSE 0 END, subscriptions_agg.`user` ASC
LIMIT 10

WITH subscriptions_agg AS (
  SELECT
    CAST(DATE_ADD(
      DATE_ADD(
        MAKEDATE(
          YEAR(
            DATE_SUB(
              DATE_SUB(
                CAST(subscriptions.started_at AS DATE),
                INTERVAL (DAYOFMONTH(CAST(subscriptions.started_at AS DATE)) - 1) DAY
              ),
              INTERVAL 1 MONTH
            )
          ),
          1
        ),
        INTERVAL (QUARTER(
          DATE_SUB(
            DATE_SUB(
              CAST(subscriptions.started_at AS DATE),
              INTERVAL (DAYOFMONTH(CAST(subscriptions.started_at AS DATE)) - 1) DAY
            ),
            INTERVAL 1 MONTH
          )
        ) - 1) QUARTER
      ),
      INTERVAL 1 MONTH
    ) AS DATE) AS metric_time__fiscal_quarter,
    CAST(EXTRACT(YEAR FROM DATE_ADD(
      DATE_SUB(
        CAST(subscriptions.started_at AS DATE),
        INTERVAL (DAYOFMONTH(CAST(subscriptions.started_at AS DATE)) - 1) DAY
      ),
      INTERVAL 11 MONTH
    )) AS SIGNED) AS metric_time__fiscal_year_number,
    CAST(EXTRACT(QUARTER FROM DATE_SUB(
      DATE_SUB(
        CAST(subscriptions.started_at AS DATE),
        INTERVAL (DAYOFMONTH(CAST(subscriptions.started_at AS DATE)) - 1) DAY
      ),
      INTERVAL 1 MONTH
    )) AS SIGNED) AS metric_time__fiscal_quarter_of_year,
    SUM(subscriptions.mrr) AS new_mrr
  FROM subscriptions AS subscriptions
  WHERE
    CAST(EXTRACT(QUARTER FROM CAST(subscriptions.started_at AS DATE)) AS SIGNED) = 1
    AND CAST(EXTRACT(DAY FROM CAST(subscriptions.started_at AS DATE)) AS SIGNED) < 15
  GROUP BY
    CAST(DATE_ADD(
      DATE_ADD(
        MAKEDATE(
          YEAR(
            DATE_SUB(
              DATE_SUB(
                CAST(subscriptions.started_at AS DATE),
                INTERVAL (DAYOFMONTH(CAST(subscriptions.started_at AS DATE)) - 1) DAY
              ),
              INTERVAL 1 MONTH
            )
          ),
          1
        ),
        INTERVAL (QUARTER(
          DATE_SUB(
            DATE_SUB(
              CAST(subscriptions.started_at AS DATE),
              INTERVAL (DAYOFMONTH(CAST(subscriptions.started_at AS DATE)) - 1) DAY
            ),
            INTERVAL 1 MONTH
          )
        ) - 1) QUARTER
      ),
      INTERVAL 1 MONTH
    ) AS DATE),
    CAST(EXTRACT(YEAR FROM DATE_ADD(
      DATE_SUB(
        CAST(subscriptions.started_at AS DATE),
        INTERVAL (DAYOFMONTH(CAST(subscriptions.started_at AS DATE)) - 1) DAY
      ),
      INTERVAL 11 MONTH
    )) AS SIGNED),
    CAST(EXTRACT(QUARTER FROM DATE_SUB(
      DATE_SUB(
        CAST(subscriptions.started_at AS DATE),
        INTERVAL (DAYOFMONTH(CAST(subscriptions.started_at AS DATE)) - 1) DAY
      ),
      INTERVAL 1 MONTH
    )) AS SIGNED)
)
SELECT
  subscriptions_agg.metric_time__fiscal_quarter AS metric_time__fiscal_quarter,
  subscriptions_agg.metric_time__fiscal_year_number AS metric_time__fiscal_year_number,
  subscriptions_agg.metric_time__fiscal_quarter_of_year AS metric_time__fiscal_quarter_of_year,
  subscriptions_agg.new_mrr AS new_mrr
FROM subscriptions_agg
ORDER BY
  CASE WHEN subscriptions_agg.metric_time__fiscal_quarter IS NULL THEN 1 ELSE 0 END, subscriptions_agg.metric_time__fiscal_quarter,
  CASE WHEN subscriptions_agg.metric_time__fiscal_year_number IS NULL THEN 1 ELSE 0 END, subscriptions_agg.metric_time__fiscal_year_number,
  CASE WHEN subscriptions_agg.metric_time__fiscal_quarter_of_year IS NULL THEN 1 ELSE 0 END, subscriptions_agg.metric_time__fiscal_quarter_of_year

-- Customer Engagement Scores by ces-xl VERSION, in duckdb SQL: one row per customer of the
-- table events(customer_id, event, date, count) (a view will do).
-- Model fingerprint 0aa33f4f0515, index method, as of 2026-11-30.
WITH dated AS (
  SELECT
    customer_id,
    CASE LOWER(REPLACE(event, ' ', ''))
      WHEN 'logins'
      THEN 0
      WHEN 'reports'
      THEN 1
      WHEN 'tickets'
      THEN 2
      WHEN 'exports'
      THEN 3
    END AS metric,
    DATE_DIFF('DAY', CAST(date AS DATE), CAST('2026-11-30' AS DATE)) AS age,
    CAST(COALESCE(CAST(count AS DOUBLE), CAST(1.0 AS DOUBLE)) AS DOUBLE) AS amount
  FROM events
  WHERE
    NOT customer_id IS NULL
), valued AS (
  SELECT
    customer_id,
    metric,
    age,
    amount,
    CASE
      WHEN age < CAST(90.0 AS DOUBLE)
      THEN amount * (
        POWER(CAST(0.5 AS DOUBLE), CAST(age AS DOUBLE) / CAST(30.0 AS DOUBLE))
      )
    END AS value
  FROM dated
), counted AS (
  SELECT
    customer_id,
    SUM(CASE WHEN metric = 0 THEN value END) AS c0,
    SUM(CASE WHEN metric = 1 THEN value END) AS c1,
    SUM(CASE WHEN metric = 2 THEN value END) AS c2,
    SUM(CASE WHEN metric = 3 THEN value END) AS c3
  FROM valued
  WHERE
    age >= 0
  GROUP BY
    customer_id
), counts AS (
  SELECT
    customer_id,
    CASE
      WHEN ABS(COALESCE(c0, CAST(0.0 AS DOUBLE)) * CAST(1000000000.0 AS DOUBLE)) >= CAST(4503599627370496.0 AS DOUBLE)
      THEN COALESCE(c0, CAST(0.0 AS DOUBLE))
      ELSE CAST(FLOOR(
        (
          COALESCE(c0, CAST(0.0 AS DOUBLE)) * CAST(1000000000.0 AS DOUBLE)
        ) + CAST(0.5 AS DOUBLE)
      ) AS DOUBLE) / CAST(1000000000.0 AS DOUBLE)
    END AS x0,
    CASE
      WHEN ABS(COALESCE(c1, CAST(0.0 AS DOUBLE)) * CAST(1000000000.0 AS DOUBLE)) >= CAST(4503599627370496.0 AS DOUBLE)
      THEN COALESCE(c1, CAST(0.0 AS DOUBLE))
      ELSE CAST(FLOOR(
        (
          COALESCE(c1, CAST(0.0 AS DOUBLE)) * CAST(1000000000.0 AS DOUBLE)
        ) + CAST(0.5 AS DOUBLE)
      ) AS DOUBLE) / CAST(1000000000.0 AS DOUBLE)
    END AS x1,
    CASE
      WHEN ABS(COALESCE(c2, CAST(0.0 AS DOUBLE)) * CAST(1000000000.0 AS DOUBLE)) >= CAST(4503599627370496.0 AS DOUBLE)
      THEN COALESCE(c2, CAST(0.0 AS DOUBLE))
      ELSE CAST(FLOOR(
        (
          COALESCE(c2, CAST(0.0 AS DOUBLE)) * CAST(1000000000.0 AS DOUBLE)
        ) + CAST(0.5 AS DOUBLE)
      ) AS DOUBLE) / CAST(1000000000.0 AS DOUBLE)
    END AS x2,
    CASE
      WHEN ABS(COALESCE(c3, CAST(0.0 AS DOUBLE)) * CAST(1000000000.0 AS DOUBLE)) >= CAST(4503599627370496.0 AS DOUBLE)
      THEN COALESCE(c3, CAST(0.0 AS DOUBLE))
      ELSE CAST(FLOOR(
        (
          COALESCE(c3, CAST(0.0 AS DOUBLE)) * CAST(1000000000.0 AS DOUBLE)
        ) + CAST(0.5 AS DOUBLE)
      ) AS DOUBLE) / CAST(1000000000.0 AS DOUBLE)
    END AS x3
  FROM counted
), orders AS (
  SELECT
    customer_id,
    RANK() OVER (ORDER BY x2 DESC) AS r2,
    COUNT(*) OVER (ORDER BY x2 DESC RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS u2
  FROM counts
), normalized AS (
  SELECT
    counts.customer_id AS customer_id,
    LEAST(GREATEST(x0, CAST(0.0 AS DOUBLE)) / CAST(20.0 AS DOUBLE), CAST(1.0 AS DOUBLE)) AS s0,
    LEAST(
      LN(CAST(1.0 AS DOUBLE) + GREATEST(x1, CAST(0.0 AS DOUBLE))) / CAST(2.3978952727983707 AS DOUBLE),
      CAST(1.0 AS DOUBLE)
    ) AS s1,
    CAST(1.0 AS DOUBLE) - CASE
      WHEN r2 = 1 AND u2 = (
        SELECT
          COUNT(*)
        FROM counts
      )
      THEN CAST(0.5 AS DOUBLE)
      ELSE (
        (
          CAST((
            (
              (
                SELECT
                  COUNT(*)
                FROM counts
              ) * 2
            ) - r2 - u2
          ) + 2 AS DOUBLE) / CAST(2.0 AS DOUBLE)
        ) - CAST(1.0 AS DOUBLE)
      ) / CAST((
        SELECT
          COUNT(*)
        FROM counts
      ) - 1 AS DOUBLE)
    END AS s2,
    CASE
      WHEN (
        SELECT
          MIN(x3)
        FROM counts
      ) = (
        SELECT
          MAX(x3)
        FROM counts
      )
      THEN CAST(0.5 AS DOUBLE)
      ELSE (
        x3 - (
          SELECT
            MIN(x3)
          FROM counts
        )
      ) / (
        (
          SELECT
            MAX(x3)
          FROM counts
        ) - (
          SELECT
            MIN(x3)
          FROM counts
        )
      )
    END AS s3
  FROM counts
  JOIN orders
    ON counts.customer_id = orders.customer_id
), points AS (
  SELECT
    customer_id,
    (
      CAST(100.0 AS DOUBLE) * s0 * CAST(3.0 AS DOUBLE)
    ) / CAST(7.0 AS DOUBLE) AS p0,
    (
      CAST(100.0 AS DOUBLE) * s1 * CAST(2.0 AS DOUBLE)
    ) / CAST(7.0 AS DOUBLE) AS p1,
    (
      CAST(100.0 AS DOUBLE) * s2 * CAST(1.0 AS DOUBLE)
    ) / CAST(7.0 AS DOUBLE) AS p2,
    (
      CAST(100.0 AS DOUBLE) * s3 * CAST(1.0 AS DOUBLE)
    ) / CAST(7.0 AS DOUBLE) AS p3,
    (
      (
        CAST(1.0 AS DOUBLE) - s0
      ) * CAST(100.0 AS DOUBLE) * CAST(3.0 AS DOUBLE)
    ) / CAST(7.0 AS DOUBLE) AS g0,
    (
      (
        CAST(1.0 AS DOUBLE) - s1
      ) * CAST(100.0 AS DOUBLE) * CAST(2.0 AS DOUBLE)
    ) / CAST(7.0 AS DOUBLE) AS g1,
    (
      (
        CAST(1.0 AS DOUBLE) - s2
      ) * CAST(100.0 AS DOUBLE) * CAST(1.0 AS DOUBLE)
    ) / CAST(7.0 AS DOUBLE) AS g2,
    (
      (
        CAST(1.0 AS DOUBLE) - s3
      ) * CAST(100.0 AS DOUBLE) * CAST(1.0 AS DOUBLE)
    ) / CAST(7.0 AS DOUBLE) AS g3
  FROM normalized
), totals AS (
  SELECT
    *,
    p0 + p1 + p2 + p3 AS total
  FROM points
), scored AS (
  SELECT
    *,
    CASE
      WHEN ABS(total * CAST(1000000000.0 AS DOUBLE)) >= CAST(4503599627370496.0 AS DOUBLE)
      THEN total
      ELSE CAST(FLOOR((
        total * CAST(1000000000.0 AS DOUBLE)
      ) + CAST(0.5 AS DOUBLE)) AS DOUBLE) / CAST(1000000000.0 AS DOUBLE)
    END AS score
  FROM totals
), standing AS (
  SELECT
    customer_id,
    RANK() OVER (ORDER BY score DESC) AS rank,
    COUNT(*) OVER (ORDER BY score DESC RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS upto
  FROM scored
), ranked AS (
  SELECT
    scored.customer_id AS customer_id,
    score,
    CASE
      WHEN score IS NULL
      THEN 'No data'
      WHEN score <= CAST(40.0 AS DOUBLE)
      THEN 'Very disengaged'
      WHEN score <= CAST(75.0 AS DOUBLE)
      THEN 'Somewhat engaged'
      ELSE 'Very engaged'
    END AS band,
    rank,
    CASE
      WHEN rank = 1 AND upto = (
        SELECT
          COUNT(*)
        FROM counts
      )
      THEN CAST(0.5 AS DOUBLE)
      ELSE (
        (
          CAST((
            (
              (
                SELECT
                  COUNT(*)
                FROM counts
              ) * 2
            ) - rank - upto
          ) + 2 AS DOUBLE) / CAST(2.0 AS DOUBLE)
        ) - CAST(1.0 AS DOUBLE)
      ) / CAST((
        SELECT
          COUNT(*)
        FROM counts
      ) - 1 AS DOUBLE)
    END AS percentile,
    CASE
      WHEN GREATEST(p0, p1, p2, p3) > CAST(1e-12 AS DOUBLE)
      THEN CASE
        WHEN p0 = GREATEST(p0, p1, p2, p3)
        THEN 'Logins'
        WHEN p1 = GREATEST(p0, p1, p2, p3)
        THEN 'Reports'
        WHEN p2 = GREATEST(p0, p1, p2, p3)
        THEN 'Tickets'
        WHEN p3 = GREATEST(p0, p1, p2, p3)
        THEN 'Exports'
        ELSE ''
      END
      ELSE ''
    END AS top_driver,
    CASE
      WHEN GREATEST(g0, g1, g2, g3) > CAST(1e-12 AS DOUBLE)
      THEN CASE
        WHEN g0 = GREATEST(g0, g1, g2, g3)
        THEN 'Logins'
        WHEN g1 = GREATEST(g0, g1, g2, g3)
        THEN 'Reports'
        WHEN g2 = GREATEST(g0, g1, g2, g3)
        THEN 'Tickets'
        WHEN g3 = GREATEST(g0, g1, g2, g3)
        THEN 'Exports'
        ELSE ''
      END
      ELSE ''
    END AS biggest_gap,
    p0 AS "Logins (points)",
    p1 AS "Reports (points)",
    p2 AS "Tickets (points)",
    p3 AS "Exports (points)"
  FROM scored
  JOIN standing
    ON scored.customer_id = standing.customer_id
)
SELECT
  *
FROM ranked
ORDER BY
  rank,
  customer_id;

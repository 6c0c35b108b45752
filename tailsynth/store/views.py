"""Canned SQL views for ``tailsynth inspect``; each is plain SQL a user can copy into duckdb."""

VIEWS: dict[str, str] = {
    "funnel": """
        SELECT q.qtype,
               count(DISTINCT q.query_id)                                   AS queries,
               (SELECT count(*) FROM rewrites r JOIN queries q2 USING (run_id, query_id)
                 WHERE r.run_id = $run AND r.rank > 0 AND q2.qtype IS NOT DISTINCT FROM q.qtype) AS rewrites,
               (SELECT count(*) FROM rewrites r JOIN queries q2 USING (run_id, query_id)
                 WHERE r.run_id = $run AND r.rank > 0 AND r.kept AND q2.qtype IS NOT DISTINCT FROM q.qtype) AS rewrites_kept,
               (SELECT count(*) FROM candidates c JOIN queries q2 USING (run_id, query_id)
                 WHERE c.run_id = $run AND q2.qtype IS NOT DISTINCT FROM q.qtype) AS candidates,
               (SELECT count(*) FROM pairs p JOIN queries q2 USING (run_id, query_id)
                 WHERE p.run_id = $run AND p.general_p_yes IS NOT NULL AND q2.qtype IS NOT DISTINCT FROM q.qtype) AS lm_scored,
               (SELECT count(*) FROM pairs p JOIN queries q2 USING (run_id, query_id)
                 WHERE p.run_id = $run AND p.kept AND q2.qtype IS NOT DISTINCT FROM q.qtype) AS pairs_kept
        FROM queries q WHERE q.run_id = $run GROUP BY q.qtype ORDER BY q.qtype
    """,
    "pairs_per_query": """
        SELECT q.query_id, q.qtype, q.text, count(p.product_id) FILTER (WHERE p.kept) AS kept_pairs
        FROM queries q LEFT JOIN pairs p USING (run_id, query_id)
        WHERE q.run_id = $run GROUP BY ALL ORDER BY kept_pairs DESC, q.query_id LIMIT $limit
    """,
    "sample_pairs": """
        SELECT q.text AS query, r.rewrite AS found_by, p.product_id, p.ann_rank,
               round(p.business_score, 3) AS business, round(p.general_p_yes, 3) AS general_p_yes
        FROM pairs p
        JOIN queries q USING (run_id, query_id)
        JOIN rewrites r ON r.run_id = p.run_id AND r.query_id = p.query_id AND r.rank = p.rewrite_rank
        WHERE p.run_id = $run AND p.kept ORDER BY hash(p.query_id || p.product_id) LIMIT $limit
    """,
    "runs": """
        SELECT run_id, kind, started_at, finished_at, model_ids FROM runs ORDER BY started_at DESC LIMIT $limit
    """,
}

"""Canned SQL views for ``tailsynth inspect``; each is plain SQL a user can copy into duckdb."""

from tailsynth.store.reads import FUNNEL_SQL

VIEWS: dict[str, str] = {
    "funnel": FUNNEL_SQL,
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

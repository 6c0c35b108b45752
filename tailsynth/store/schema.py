"""DuckDB tables of a tailsynth store. Every row carries its run id; keys make reruns idempotent."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY,
    kind VARCHAR,
    config JSON,
    model_ids JSON,
    started_at TIMESTAMP,
    finished_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS queries (
    run_id VARCHAR, query_id VARCHAR, text VARCHAR, qtype VARCHAR,
    PRIMARY KEY (run_id, query_id)
);
CREATE TABLE IF NOT EXISTS progress (
    run_id VARCHAR, query_id VARCHAR, stage VARCHAR,
    PRIMARY KEY (run_id, query_id, stage)
);
CREATE TABLE IF NOT EXISTS rewrites (
    run_id VARCHAR, query_id VARCHAR, rank INTEGER, rewrite VARCHAR,
    label VARCHAR, p_relevant DOUBLE, p_partial DOUBLE, p_irrelevant DOUBLE, kept BOOLEAN,
    PRIMARY KEY (run_id, query_id, rank)
);
CREATE TABLE IF NOT EXISTS candidates (
    run_id VARCHAR, query_id VARCHAR, product_id VARCHAR,
    rewrite_rank INTEGER, ann_rank INTEGER, ann_score DOUBLE,
    PRIMARY KEY (run_id, query_id, product_id)
);
CREATE TABLE IF NOT EXISTS pairs (
    run_id VARCHAR, query_id VARCHAR, product_id VARCHAR,
    rewrite_rank INTEGER, ann_rank INTEGER,
    business_score DOUBLE, general_p_yes DOUBLE, kept BOOLEAN,
    decided_by VARCHAR,
    ann_score DOUBLE,
    PRIMARY KEY (run_id, query_id, product_id)
);
-- 'negation' | 'alternative' | 'retrieval' | 'business' | 'cap' | 'general': the stage that decided the candidate (NULL: not yet, or a store
-- written before the column existed).
ALTER TABLE pairs ADD COLUMN IF NOT EXISTS decided_by VARCHAR;
-- The candidate's retrieval score (candidates.ann_score), which a keep rule weighs with the two models' scores.
ALTER TABLE pairs ADD COLUMN IF NOT EXISTS ann_score DOUBLE;
CREATE TABLE IF NOT EXISTS eval_results (
    run_id VARCHAR, suite VARCHAR, system VARCHAR, qtype VARCHAR, metric VARCHAR, value DOUBLE,
    created_at TIMESTAMP DEFAULT current_timestamp,
    PRIMARY KEY (run_id, suite, system, qtype, metric)
);
-- One row per query of an evaluation, for the bootstrap intervals of the tables' gains
-- (``evals.bootstrap``): a table cell is a mean over queries, its interval needs the queries.
CREATE TABLE IF NOT EXISTS eval_query_results (
    run_id VARCHAR, suite VARCHAR, system VARCHAR, query_id VARCHAR, qtype VARCHAR, metric VARCHAR, value DOUBLE,
    PRIMARY KEY (run_id, suite, system, query_id, metric)
);
CREATE TABLE IF NOT EXISTS train_log (
    run_id VARCHAR, step INTEGER, metric VARCHAR, value DOUBLE,
    PRIMARY KEY (run_id, step, metric)
);
"""

COLUMNS: dict[str, tuple[str, ...]] = {
    "runs": ("run_id", "kind", "config", "model_ids", "started_at", "finished_at"),
    "queries": ("run_id", "query_id", "text", "qtype"),
    "progress": ("run_id", "query_id", "stage"),
    "rewrites": ("run_id", "query_id", "rank", "rewrite", "label", "p_relevant", "p_partial", "p_irrelevant", "kept"),
    "candidates": ("run_id", "query_id", "product_id", "rewrite_rank", "ann_rank", "ann_score"),
    "pairs": ("run_id", "query_id", "product_id", "rewrite_rank", "ann_rank", "business_score", "general_p_yes", "kept", "decided_by",
              "ann_score"),
    "eval_results": ("run_id", "suite", "system", "qtype", "metric", "value"),
    "eval_query_results": ("run_id", "suite", "system", "query_id", "qtype", "metric", "value"),
    "train_log": ("run_id", "step", "metric", "value"),
}
"""Insertable columns of every table, in order; ``Store.insert`` takes rows as tuples in this order
(and ``Store.copy_runs`` copies every table named here).

``pairs.decided_by`` names the stage that decided a candidate: 'negation' (its text states what the
query rules out, never scored; business_score NULL), 'alternative' (the brand an alternative query
names, or dearer than it; never scored), 'retrieval' (its ann_score under the
query type's floor, never scored; business_score NULL), 'business' (business_score below
the threshold), 'cap' (passed it but over max_general_per_query, never scored by the general
filter), 'general' (scored by the general filter; ``kept`` says whether it passed). NULL only
between the business and general stages of an unfinished run. Hard negatives are
``NOT kept AND decided_by IN ('negation', 'alternative', 'business', 'general')``. ``pairs.ann_score`` is the candidate's
retrieval score (as in ``candidates``), there for the keep rule (``tailsynth.keep_rule``) and for SQL."""

ADDED_COLUMNS: dict[str, tuple[str, ...]] = {"pairs": ("decided_by", "ann_score")}
"""Trailing columns added after a table's first version; an insert may leave them out."""

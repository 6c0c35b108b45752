"""Dense retrieval: ``encoder`` (text → unit vectors), ``index`` (FAISS top-k), ``catalog_index``
(cached catalog index, union over rewrites), ``business_relevance`` (cross-encoder pair scorer).

Submodules are imported explicitly so that importing the package stays cheap (no torch/faiss).
"""

"""LangChain's OpenSearchVectorSearch (langchain-community), used as its documentation shows, on an encrypted index and
on a plaintext k-NN index of the same node. Nothing below knows which index is encrypted."""

import numpy as np
import pytest
from langchain_community.vectorstores import OpenSearchVectorSearch

from conftest import K, compare_rankings, index_pair

INDICES = index_pair("langchain")
# OpenSearch 3 refuses new nmslib indices (LangChain's default engine), and the opensearch-knn zip on Maven Central
# carries no native library (faiss): the lucene engine (docs/frameworks.md).
ENGINE = "lucene"
# LangChain's default space is l2; an encrypted index of a cosine model takes cosinesimil (docs/frameworks.md).
SPACE = "cosinesimil"


def application_store(url, index, corpus, embeddings):
    """The application: from_texts with the first half (creates the index, bulk-indexes), add_texts with the rest."""
    half = len(corpus.docs) // 2
    first, rest = corpus.docs[:half], corpus.docs[half:]
    store = OpenSearchVectorSearch.from_texts(
        [m.text for m in first],
        embeddings,
        metadatas=[{"spam": m.spam, "id": m.id} for m in first],
        ids=[m.id for m in first],
        opensearch_url=url,
        index_name=index,
        engine=ENGINE,
        space_type=SPACE,
        bulk_size=len(first),  # from_texts refuses more texts than bulk_size (default 500)
        timeout=120,
    )
    store.add_texts(
        [m.text for m in rest],
        metadatas=[{"spam": m.spam, "id": m.id} for m in rest],
        ids=[m.id for m in rest],
        bulk_size=len(rest),
    )
    return store


@pytest.fixture(scope="module")
def stores(operator, url, corpus, embeddings):
    return {kind: application_store(url, index, corpus, embeddings) for kind, index in INDICES.items()}


def ranked(results):
    return [(doc.id, score) for doc, score in results]


def test_similarity_search_with_score(stores, corpus):
    hits = {
        kind: [ranked(store.similarity_search_with_score(q.text, k=K)) for q in corpus.queries]
        for kind, store in stores.items()
    }
    compare_rankings("langchain similarity_search_with_score", hits["encrypted"], hits["plain"])
    assert all(len(h) == K for h in hits["encrypted"])


@pytest.mark.parametrize("kind_of_filter", ["efficient_filter", "boolean_filter"])
def test_filtered_search(stores, corpus, kind_of_filter):
    spam_only = {"term": {"metadata.spam": True}}
    hits = {}
    for kind, store in stores.items():
        hits[kind] = []
        for q in corpus.queries:
            results = store.similarity_search_with_score(q.text, k=K, **{kind_of_filter: spam_only})
            assert all(doc.metadata["spam"] is True for doc, _ in results), f"{kind}: filter not applied"
            hits[kind].append(ranked(results))
    compare_rankings(f"langchain {kind_of_filter}", hits["encrypted"], hits["plain"])


def test_score_threshold_is_min_score(stores, corpus):
    """score_threshold becomes min_score: a threshold written for k-NN's scores must keep its meaning."""
    hits = {"encrypted": [], "plain": []}
    for q in corpus.queries:
        plain_top = stores["plain"].similarity_search_with_score(q.text, k=K)
        # half the hits pass: between the 5th and the 6th score, since scores agree to 1e-4, not to the last bit (a
        # threshold equal to a score would let rounding decide whether that hit passes)
        threshold = (plain_top[K // 2 - 1][1] + plain_top[K // 2][1]) / 2
        for kind, store in stores.items():
            results = store.similarity_search_with_score(q.text, k=K, score_threshold=threshold)
            assert all(score >= threshold for _, score in results)
            hits[kind].append(ranked(results))
    compare_rankings("langchain score_threshold", hits["encrypted"], hits["plain"])


def test_max_marginal_relevance_search(stores, corpus, embeddings):
    """MMR reads every candidate's vector back from _source and re-ranks on the client.

    The measure is the issue's: mean overlap of the selections. Identical selections are printed too; MMR turns one
    different candidate among fetch_k (the plaintext HNSW is approximate, the encrypted path re-ranks exactly) into a
    different pick, so an exact match of every selection is not the bar.
    """
    same = 0
    overlap = 0.0
    for q in corpus.queries:
        picked = {
            kind: [doc.id for doc in store.max_marginal_relevance_search(q.text, k=4, fetch_k=20)]
            for kind, store in stores.items()
        }
        same += picked["encrypted"] == picked["plain"]
        overlap += len(set(picked["encrypted"]) & set(picked["plain"])) / 4
    overlap /= len(corpus.queries)
    print(
        f"\nlangchain MMR: mean overlap of the selections {overlap:.3f}; identical selection for {same} of"
        f" {len(corpus.queries)} queries"
    )
    assert overlap >= 0.95


def test_vectors_read_back_from_source(stores, corpus):
    """What MMR relies on: the vector in _source of a knn search is the one the application wrote (MiniLM vectors are
    unit vectors, so a cosine model's normalized read-back is the same vector)."""
    by_id = {m.id: m.vector for m in corpus.docs}
    q = corpus.queries[0]
    worst = 0.0
    for kind, store in stores.items():
        hits = store.client.search(
            index=store.index_name,
            body={"size": K, "query": {"knn": {"vector_field": {"vector": q.vector, "k": K}}}},
        )["hits"]["hits"]
        assert len(hits) == K
        for hit in hits:
            got = np.asarray(hit["_source"]["vector_field"], dtype=np.float32)
            want = np.asarray(by_id[hit["_id"]], dtype=np.float32)
            assert got.shape == want.shape, f"{kind}: _source vector of {hit['_id']} has shape {got.shape}"
            worst = max(worst, float(np.abs(got - want).max()))
            assert np.allclose(got, want, atol=1e-5), f"{kind}: _source vector of {hit['_id']} differs"
    print(f"\nlangchain _source read-back: max |component difference| {worst:.2e}")

"""The k-NN flows of opensearch-py's guide (create an index with a knn_vector field, bulk-index plaintext vectors,
search with the knn query: top level, in bool with a filter, with an efficient filter, with min_score, with
_source excludes and method_parameters), on an encrypted index and on a plaintext k-NN index."""

import re

import pytest
from opensearchpy import OpenSearch, helpers
from opensearchpy.exceptions import RequestError

from conftest import K, compare_rankings, index_pair

FIELD = "values"
# The guide's mapping, with the lucene engine (the k-NN default, faiss, needs native libraries that the opensearch-knn
# zip on Maven Central does not carry) and cosinesimil (the model's space; for the default l2 see test_l2_takes_unit_vectors_only and
# test_framework_defaults.py), and one with the HNSW parameters written out.
MAPPINGS = {
    "guide": {"type": "knn_vector", "dimension": 384, "space_type": "cosinesimil", "method": {"name": "hnsw", "engine": "lucene"}},
    "guide-hnsw": {
        "type": "knn_vector",
        "dimension": 384,
        "method": {
            "name": "hnsw",
            "engine": "lucene",
            "space_type": "cosinesimil",
            "parameters": {"m": 16, "ef_construction": 128},
        },
    },
}


def create_and_load(client, index, mapping, corpus):
    client.indices.create(
        index=index,
        body={"settings": {"index.knn": True}, "mappings": {"properties": {FIELD: mapping, "spam": {"type": "boolean"}}}},
    )
    actions = (
        {"_index": index, "_id": m.id, FIELD: m.vector, "spam": m.spam, "text": m.text} for m in corpus.docs
    )
    ok, errors = helpers.bulk(client, actions, chunk_size=250, max_chunk_bytes=8 * 1024 * 1024)
    assert ok == len(corpus.docs) and not errors
    client.indices.refresh(index=index)


@pytest.fixture(scope="module", params=sorted(MAPPINGS))
def indices(request, operator, url, corpus):
    client = OpenSearch(url, timeout=120)
    pair = index_pair(request.param)
    for index in pair.values():
        create_and_load(client, index, MAPPINGS[request.param], corpus)
    yield client, pair
    client.close()


def search_all(client, pair, corpus, body_of):
    """Runs body_of(query vector) on both indices for every query; (id, score) lists per index."""
    hits = {}
    for kind, index in pair.items():
        hits[kind] = [
            [(h["_id"], h["_score"]) for h in client.search(index=index, body=body_of(q.vector))["hits"]["hits"]]
            for q in corpus.queries
        ]
    return hits


def knn(vector, **extra):
    return {"knn": {FIELD: {"vector": vector, "k": K, **extra}}}


def test_knn_query(indices, corpus):
    client, pair = indices
    hits = search_all(client, pair, corpus, lambda v: {"size": K, "query": knn(v)})
    compare_rankings(f"opensearch-py knn [{pair['plain']}]", hits["encrypted"], hits["plain"])


def test_knn_in_bool_with_filter(indices, corpus):
    client, pair = indices
    hits = search_all(
        client,
        pair,
        corpus,
        lambda v: {"size": K, "query": {"bool": {"filter": {"term": {"spam": True}}, "must": [knn(v)]}}},
    )
    compare_rankings(f"opensearch-py bool+filter [{pair['plain']}]", hits["encrypted"], hits["plain"])


def test_knn_efficient_filter(indices, corpus):
    client, pair = indices
    hits = search_all(
        client, pair, corpus, lambda v: {"size": K, "query": knn(v, filter={"term": {"spam": False}})}
    )
    compare_rankings(f"opensearch-py knn.filter [{pair['plain']}]", hits["encrypted"], hits["plain"])


def test_min_score(indices, corpus):
    client, pair = indices
    plain = search_all(client, {"plain": pair["plain"]}, corpus, lambda v: {"size": K, "query": knn(v)})["plain"]
    # passes about half the hits; a midpoint between two scores, never a score itself: the scores agree to 1e-4, not to
    # the last bit, and a threshold equal to a score would let rounding decide whether that hit passes
    threshold = sorted((hits[K // 2 - 1][1] + hits[K // 2][1]) / 2 for hits in plain)[len(plain) // 2]
    hits = search_all(client, pair, corpus, lambda v: {"size": K, "min_score": threshold, "query": knn(v)})
    assert all(s >= threshold for per_query in hits["encrypted"] for _, s in per_query)
    compare_rankings(f"opensearch-py min_score [{pair['plain']}]", hits["encrypted"], hits["plain"])


def test_source_excludes_and_ef_search(indices, corpus):
    client, pair = indices
    body = lambda v: {  # noqa: E731
        "size": K,
        "_source": {"excludes": [FIELD]},
        "query": knn(v, method_parameters={"ef_search": 200}),
    }
    hits = search_all(client, pair, corpus, body)
    compare_rankings(f"opensearch-py ef_search [{pair['plain']}]", hits["encrypted"], hits["plain"])
    sample = client.search(index=pair["encrypted"], body=body(corpus.queries[0].vector))["hits"]["hits"][0]
    assert FIELD not in sample["_source"] and "text" in sample["_source"]


def test_l2_takes_unit_vectors_only(operator, url, corpus):
    """A knn_vector without space_type (k-NN's default l2) under the opt-in template of a cosine model: created, with
    space_type l2; a unit vector is indexed, a vector of another length is a 400 naming the field and its norm (not
    silently normalized: that would change the l2 answers), and nothing of it is written."""
    client = OpenSearch(url)
    index = index_pair("l2")["encrypted"]
    client.indices.create(
        index=index, body={"settings": {"index.knn": True}, "mappings": {"properties": {FIELD: {"type": "knn_vector", "dimension": 384}}}}
    )
    try:
        mapping = client.indices.get_mapping(index=index)[index]["mappings"]["properties"][FIELD]
        assert mapping["type"] == "encrypted_knn_vector" and mapping["space_type"] == "l2", mapping
        unit = corpus.docs[0].vector
        client.index(index=index, id="unit", body={FIELD: unit}, refresh=True)
        with pytest.raises(RequestError) as refused:
            client.index(index=index, id="twice", body={FIELD: [2 * v for v in unit]}, refresh=True)
        reason = str(refused.value.info)
        assert refused.value.status_code == 400 and f"field [{FIELD}]" in reason, reason
        assert re.search(r"has norm (2\.0|1\.9999)", reason), reason
        assert client.exists(index=index, id="unit") and not client.exists(index=index, id="twice")
    finally:
        client.indices.delete(index=index)
        client.close()

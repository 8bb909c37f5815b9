"""LlamaIndex's OpensearchVectorStore (llama-index-vector-stores-opensearch), used as its documentation shows, on an
encrypted index and on a plaintext k-NN index. The method is LlamaIndex's default (HNSW, m 48, ef_construction 256)
with two changes: cosinesimil instead of l2 (an encrypted index of a cosine model takes cosinesimil), and the lucene
engine instead of faiss (the opensearch-knn zip on Maven Central carries no native library)."""

import pytest
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import (
    FilterCondition,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
)
from llama_index.vector_stores.opensearch import OpensearchVectorClient, OpensearchVectorStore

from conftest import K, compare_rankings, index_pair

INDICES = index_pair("llamaindex")


def application_store(url, index, corpus):
    """The application: a vector client with the defaults (the index is created on first use) and nodes that carry
    their embeddings."""
    method = {
        "name": "hnsw",
        "space_type": "cosinesimil",
        "engine": "lucene",
        "parameters": {"ef_construction": 256, "m": 48},
    }
    client = OpensearchVectorClient(url, index, dim=len(corpus.docs[0].vector), method=method, timeout=120)
    store = OpensearchVectorStore(client)
    nodes = [TextNode(id_=m.id, text=m.text, metadata={"label": "spam" if m.spam else "ham"}, embedding=m.vector) for m in corpus.docs]
    for start in range(0, len(nodes), 500):
        store.add(nodes[start : start + 500])
    return store


@pytest.fixture(scope="module")
def stores(operator, url, corpus):
    stores = {kind: application_store(url, index, corpus) for kind, index in INDICES.items()}
    yield stores
    for store in stores.values():
        store.close()


def ranked(result):
    return list(zip(result.ids, result.similarities))


def test_query(stores, corpus):
    hits = {
        kind: [ranked(store.query(VectorStoreQuery(query_embedding=q.vector, similarity_top_k=K))) for q in corpus.queries]
        for kind, store in stores.items()
    }
    compare_rankings("llama-index query", hits["encrypted"], hits["plain"])
    assert all(len(h) == K for h in hits["encrypted"])


def test_query_with_metadata_filters(stores, corpus):
    """On OpenSearch >= 2.9 with lucene or faiss, LlamaIndex sends the filters as the knn query's efficient filter
    (a string value becomes a term query on metadata.<key>.keyword)."""
    filters = MetadataFilters(filters=[MetadataFilter(key="label", value="ham")], condition=FilterCondition.AND)
    hits = {}
    for kind, store in stores.items():
        hits[kind] = []
        for q in corpus.queries:
            result = store.query(VectorStoreQuery(query_embedding=q.vector, similarity_top_k=K, filters=filters))
            assert all(node.metadata["label"] == "ham" for node in result.nodes), f"{kind}: filter not applied"
            hits[kind].append(ranked(result))
    compare_rankings("llama-index metadata filters", hits["encrypted"], hits["plain"])


def test_nodes_come_back_whole(stores, corpus):
    """The text and metadata LlamaIndex stored are what it reads back."""
    by_id = {m.id: m for m in corpus.docs}
    result = stores["encrypted"].query(VectorStoreQuery(query_embedding=corpus.queries[0].vector, similarity_top_k=K))
    for node in result.nodes:
        assert node.text == by_id[node.node_id].text
        assert node.metadata["label"] == ("spam" if by_id[node.node_id].spam else "ham")

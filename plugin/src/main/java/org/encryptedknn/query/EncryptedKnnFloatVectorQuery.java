package org.encryptedknn.query;

import java.util.Objects;
import org.apache.lucene.search.KnnFloatVectorQuery;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.TopDocs;

/**
 * A {@link KnnFloatVectorQuery} that explores {@code numCandidates} neighbours per segment (HNSW beam) but keeps only
 * the best {@code k} of the shard, like {@code num_candidates} in OpenSearch's knn queries.
 */
final class EncryptedKnnFloatVectorQuery extends KnnFloatVectorQuery {
    private final int resultSize;

    EncryptedKnnFloatVectorQuery(String field, float[] target, int k, int numCandidates, Query filter) {
        super(field, target, numCandidates, filter);
        this.resultSize = k;
    }

    @Override
    protected TopDocs mergeLeafResults(TopDocs[] perLeafResults) {
        return TopDocs.merge(resultSize, perLeafResults);
    }

    @Override
    public boolean equals(Object other) {
        return super.equals(other) && resultSize == ((EncryptedKnnFloatVectorQuery) other).resultSize;
    }

    @Override
    public int hashCode() {
        return Objects.hash(super.hashCode(), resultSize);
    }

    @Override
    public String toString(String field) {
        // The target is ciphertext, but it still does not belong in logs or profiles.
        return "EncryptedKnnFloatVectorQuery[" + getField() + "][k=" + resultSize + ", candidates=" + getK() + "]"
                + (getFilter() == null ? "" : "[filter=" + getFilter() + "]");
    }
}

package org.encryptedknn.index;

import org.apache.lucene.codecs.Codec;
import org.apache.lucene.codecs.FilterCodec;
import org.apache.lucene.codecs.KnnVectorsFormat;
import org.apache.lucene.codecs.perfield.PerFieldKnnVectorsFormat;
import org.opensearch.index.mapper.MappedFieldType;
import org.opensearch.index.mapper.MapperService;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The codec of an index with {@code index.encrypted_knn: true}: the codec OpenSearch would use anyway (default,
 * best_compression, …) with one change on the write path — {@code encrypted_knn_vector} fields get
 * Lucene99 HNSW{@code (m, ef_construction)} from their mapping ({@link HnswParamsRecordingFormat}, which also records m and ef_construction in the segment's FieldInfo). Every other field keeps the
 * delegate's per-field format.
 *
 * <p>The codec deliberately carries the delegate's <em>name</em>. Lucene records, per field, the name of the vector
 * format that wrote it ({@code PerFieldKnnVectorsFormat.format = Lucene99HnswVectorsFormat}); HNSW parameters only
 * matter when writing. So segments written by this codec are read by the stock codec found by name through SPI: no
 * codec registration is needed, and the index stays readable even without this plugin. Merges run through this codec
 * and rebuild the graph from the stored float32 prefixes: vectors are copied as they are, never re-encrypted.
 */
public final class EncryptedKnnCodec extends FilterCodec {

    private final KnnVectorsFormat knnVectorsFormat;

    public EncryptedKnnCodec(Codec delegate, MapperService mapperService) {
        super(delegate.getName(), delegate);
        KnnVectorsFormat base = delegate.knnVectorsFormat();
        if (!(base instanceof PerFieldKnnVectorsFormat perField)) {
            throw new IllegalStateException(
                "codec [" + delegate.getName() + "] has no per-field vector format; it cannot be combined with index.encrypted_knn"
            );
        }
        this.knnVectorsFormat = new EncryptedPerFieldKnnVectorsFormat(perField, mapperService);
    }

    @Override
    public KnnVectorsFormat knnVectorsFormat() {
        return knnVectorsFormat;
    }

    /** Per-field routing: our fields to HNSW(m, ef_construction), the rest to the delegate's choice. */
    static final class EncryptedPerFieldKnnVectorsFormat extends PerFieldKnnVectorsFormat {
        private static final Map<Long, KnnVectorsFormat> FORMATS = new ConcurrentHashMap<>();

        private final PerFieldKnnVectorsFormat delegate;
        private final MapperService mapperService;

        EncryptedPerFieldKnnVectorsFormat(PerFieldKnnVectorsFormat delegate, MapperService mapperService) {
            this.delegate = delegate;
            this.mapperService = mapperService;
        }

        @Override
        public KnnVectorsFormat getKnnVectorsFormatForField(String field) {
            MappedFieldType type = mapperService == null ? null : mapperService.fieldType(field);
            if (type instanceof EncryptedKnnVectorFieldMapper.EncryptedKnnVectorFieldType encrypted) {
                return hnsw(encrypted.spec().m(), encrypted.spec().efConstruction());
            }
            return delegate.getKnnVectorsFormatForField(field);
        }

        static KnnVectorsFormat hnsw(int m, int efConstruction) {
            return FORMATS.computeIfAbsent(((long) m << 32) | efConstruction, k -> new HnswParamsRecordingFormat(m, efConstruction));
        }
    }
}

package org.encryptedknn.codec;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.lucene.codecs.Codec;
import org.apache.lucene.codecs.FilterCodec;
import org.apache.lucene.codecs.KnnVectorsFormat;
import org.apache.lucene.codecs.StoredFieldsFormat;
import org.apache.lucene.codecs.lucene103.Lucene103Codec;
import org.apache.lucene.codecs.perfield.PerFieldKnnVectorsFormat;
import org.encryptedknn.mapper.EncryptedKnnVectorFieldMapper;
import org.opensearch.index.mapper.MappedFieldType;
import org.opensearch.index.mapper.MapperService;

/**
 * The codec of an index with {@code index.encrypted_knn: true}: the codec OpenSearch would use anyway (default,
 * best_compression, …) with two changes:
 * <ul>
 *   <li>{@code encrypted_knn_vector} fields get Lucene99 HNSW{@code (m, ef_construction)} from their mapping
 *       ({@link HnswParamsRecordingFormat}, which also records m and ef_construction in the segment's FieldInfo); every
 *       other field keeps the delegate's per-field format. HNSW parameters only matter when writing: the vector format
 *       name recorded per field is Lucene's own. Merges rebuild the graph from the stored float32 prefixes: vectors are
 *       copied as they are, never re-encrypted.</li>
 *   <li>Stored fields keep one copy of each record's vectors ({@link DerivedSourceStoredFieldsFormat}): {@code z}
 *       lives in the residual doc values, {@code p} in the field's vector values, and both are derived back into
 *       {@code _source} on read.</li>
 * </ul>
 *
 * <p>Segments carry this codec's name, {@value #NAME}, so that they are read through it (Lucene finds it by SPI, from
 * {@code META-INF/services}, with the no-argument constructor): an encrypted index needs this plugin to be read. The
 * delegate must be Lucene's {@value #DELEGATE} codec (OpenSearch's default, best_compression and lucene_default all are;
 * the stored fields mode is recorded per segment). With any other codec (e.g. a zstd codec from another plugin) the
 * residual stays in {@code _source} too and the segments carry the delegate's name, readable without this plugin.
 */
public final class EncryptedKnnCodec extends FilterCodec {

    /** The name written into segments whose {@code _source} has its residuals derived. */
    public static final String NAME = "EncryptedKnn103";
    /** The Lucene codec whose formats this one extends. */
    static final String DELEGATE = "Lucene103";

    private final KnnVectorsFormat knnVectorsFormat;
    private final StoredFieldsFormat storedFieldsFormat;

    /** SPI: reads segments written under {@value #NAME}. */
    public EncryptedKnnCodec() {
        this(new Lucene103Codec(), null); // not Codec.forName: SPI lookups are not allowed while codecs load
    }

    public EncryptedKnnCodec(Codec delegate, MapperService mapperService) {
        super(DELEGATE.equals(delegate.getName()) ? NAME : delegate.getName(), delegate);
        KnnVectorsFormat base = delegate.knnVectorsFormat();
        if (!(base instanceof PerFieldKnnVectorsFormat perField)) {
            throw new IllegalStateException("codec [" + delegate.getName()
                    + "] has no per-field vector format; it cannot be combined with index.encrypted_knn");
        }
        this.knnVectorsFormat = new EncryptedPerFieldKnnVectorsFormat(perField, mapperService);
        this.storedFieldsFormat = NAME.equals(getName())
                ? new DerivedSourceStoredFieldsFormat(
                        delegate.storedFieldsFormat(),
                        delegate.docValuesFormat(),
                        knnVectorsFormat,
                        () -> encryptedFields(mapperService))
                : delegate.storedFieldsFormat();
    }

    @Override
    public KnnVectorsFormat knnVectorsFormat() {
        return knnVectorsFormat;
    }

    @Override
    public StoredFieldsFormat storedFieldsFormat() {
        return storedFieldsFormat;
    }

    /** The mapping's encrypted_knn_vector fields (none without a mapper service: the read-only SPI instance). */
    private static List<String> encryptedFields(MapperService mapperService) {
        List<String> fields = new ArrayList<>();
        if (mapperService != null) {
            for (MappedFieldType type : mapperService.fieldTypes()) {
                if (type instanceof EncryptedKnnVectorFieldMapper.EncryptedKnnVectorFieldType) {
                    fields.add(type.name());
                }
            }
        }
        return fields;
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
            return FORMATS.computeIfAbsent(
                    ((long) m << 32) | efConstruction, k -> new HnswParamsRecordingFormat(m, efConstruction));
        }
    }
}

package org.encryptedknn.codec;

import java.io.IOException;
import org.apache.lucene.codecs.KnnFieldVectorsWriter;
import org.apache.lucene.codecs.KnnVectorsFormat;
import org.apache.lucene.codecs.KnnVectorsReader;
import org.apache.lucene.codecs.KnnVectorsWriter;
import org.apache.lucene.codecs.lucene99.Lucene99HnswVectorsFormat;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.index.MergeState;
import org.apache.lucene.index.SegmentReadState;
import org.apache.lucene.index.SegmentWriteState;
import org.apache.lucene.index.Sorter;

/**
 * {@link Lucene99HnswVectorsFormat}{@code (m, ef_construction)} that also writes the HNSW parameters into the field's
 * FieldInfo attributes ({@value #ATTR_M}, {@value #ATTR_EF_CONSTRUCTION}) of every segment it writes, on flush and
 * on merge — so a segment tells which parameters built its graph, and tests can see that the codec was used.
 *
 * <p>It keeps the name {@code Lucene99HnswVectorsFormat}: that name is what the per-field format records, and it is
 * what reads the segment back (the read path does not depend on m or ef_construction).
 */
public final class HnswParamsRecordingFormat extends KnnVectorsFormat {

    public static final String ATTR_M = "encrypted_knn.hnsw.m";
    public static final String ATTR_EF_CONSTRUCTION = "encrypted_knn.hnsw.ef_construction";

    private final Lucene99HnswVectorsFormat delegate;
    private final int m;
    private final int efConstruction;

    HnswParamsRecordingFormat(int m, int efConstruction) {
        super("Lucene99HnswVectorsFormat");
        this.delegate = new Lucene99HnswVectorsFormat(m, efConstruction);
        this.m = m;
        this.efConstruction = efConstruction;
    }

    @Override
    public KnnVectorsWriter fieldsWriter(SegmentWriteState state) throws IOException {
        KnnVectorsWriter inner = delegate.fieldsWriter(state);
        return new KnnVectorsWriter() {
            @Override
            public KnnFieldVectorsWriter<?> addField(FieldInfo fieldInfo) throws IOException {
                record(fieldInfo);
                return inner.addField(fieldInfo);
            }

            @Override
            public void mergeOneField(FieldInfo fieldInfo, MergeState mergeState) throws IOException {
                record(fieldInfo);
                inner.mergeOneField(fieldInfo, mergeState);
            }

            @Override
            public void flush(int maxDoc, Sorter.DocMap sortMap) throws IOException {
                inner.flush(maxDoc, sortMap);
            }

            @Override
            public void finish() throws IOException {
                inner.finish();
            }

            @Override
            public void close() throws IOException {
                inner.close();
            }

            @Override
            public long ramBytesUsed() {
                return inner.ramBytesUsed();
            }
        };
    }

    private void record(FieldInfo fieldInfo) {
        fieldInfo.putAttribute(ATTR_M, Integer.toString(m));
        fieldInfo.putAttribute(ATTR_EF_CONSTRUCTION, Integer.toString(efConstruction));
    }

    @Override
    public KnnVectorsReader fieldsReader(SegmentReadState state) throws IOException {
        return delegate.fieldsReader(state);
    }

    @Override
    public int getMaxDimensions(String fieldName) {
        return delegate.getMaxDimensions(fieldName);
    }

    @Override
    public String toString() {
        return "HnswParamsRecordingFormat(" + delegate + ")";
    }
}

package org.encryptedknn.codec;

import org.apache.lucene.codecs.Codec;
import org.apache.lucene.codecs.KnnVectorsFormat;
import org.apache.lucene.codecs.lucene103.Lucene103Codec;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.KnnFloatVectorField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.store.Directory;
import org.apache.lucene.tests.index.BaseKnnVectorsFormatTestCase;

/**
 * Lucene's conformance suite for the vector format the codec gives an {@code encrypted_knn_vector} field: Lucene99
 * HNSW with the mapping's m and ef_construction, recording them in the FieldInfo attributes
 * ({@link HnswParamsRecordingFormat}), behind the codec's per-field routing. Small m and ef_construction, so the
 * graph is exercised with many layers on the suite's small indices.
 */
public class EncryptedKnnVectorsFormatTests extends BaseKnnVectorsFormatTestCase {

    @Override
    protected Codec getCodec() {
        KnnVectorsFormat format = EncryptedKnnCodec.EncryptedPerFieldKnnVectorsFormat.hnsw(4, 20);
        return new EncryptedKnnCodec(
                new Lucene103Codec() {
                    @Override
                    public KnnVectorsFormat getKnnVectorsFormatForField(String field) {
                        return format;
                    }
                },
                null);
    }

    /** Beyond the suite: the segment tells which HNSW parameters built its graph, after a flush and after a merge. */
    public void testRecordsHnswParameters() throws Exception {
        try (Directory dir = newDirectory();
                IndexWriter writer = new IndexWriter(dir, newIndexWriterConfig().setCodec(getCodec()))) {
            for (int i = 0; i < 3; i++) {
                Document doc = new Document();
                doc.add(new KnnFloatVectorField("v", new float[] {i, 1f}, VectorSimilarityFunction.EUCLIDEAN));
                writer.addDocument(doc);
                writer.flush();
            }
            writer.forceMerge(1);
            try (DirectoryReader reader = DirectoryReader.open(writer)) {
                assertEquals(1, reader.leaves().size());
                FieldInfo info = reader.leaves().get(0).reader().getFieldInfos().fieldInfo("v");
                assertEquals("4", info.getAttribute(HnswParamsRecordingFormat.ATTR_M));
                assertEquals("20", info.getAttribute(HnswParamsRecordingFormat.ATTR_EF_CONSTRUCTION));
            }
        }
    }
}

package org.encryptedknn.codec;

import java.util.List;
import org.apache.lucene.codecs.Codec;
import org.apache.lucene.codecs.FilterCodec;
import org.apache.lucene.codecs.StoredFieldsFormat;
import org.apache.lucene.codecs.StoredFieldsReader;
import org.apache.lucene.codecs.lucene103.Lucene103Codec;
import org.apache.lucene.document.BinaryDocValuesField;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.DocumentStoredFieldVisitor;
import org.apache.lucene.document.KnnFloatVectorField;
import org.apache.lucene.document.StoredField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.SegmentReader;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.IOContext;
import org.apache.lucene.tests.index.BaseStoredFieldsFormatTestCase;
import org.apache.lucene.util.BytesRef;
import org.encryptedknn.mapper.ResidualDocValues;
import org.encryptedknn.transform.EncryptedVector;
import org.encryptedknn.transform.RecordFormat;

/**
 * Lucene's conformance suite for the codec's stored fields format ({@link DerivedSourceStoredFieldsFormat}), written
 * under the codec's name {@value EncryptedKnnCodec#NAME} so that segments are read back through the SPI instance of
 * {@link EncryptedKnnCodec}, as a node reads them. In a node the encrypted fields come from the mapper service; here
 * the writer is given one, {@value #FIELD}, so no mapper is needed. The suite's random documents have no
 * {@code _source} with that field: every kind of stored field, merge and visitor must pass through unchanged.
 * {@link #testRecordVectorsLeaveStoredSourceAndComeBack} exercises the derivation itself.
 */
public class DerivedSourceStoredFieldsFormatTests extends BaseStoredFieldsFormatTestCase {

    static final String FIELD = "embedding";

    @Override
    protected Codec getCodec() {
        Codec delegate = new Lucene103Codec();
        StoredFieldsFormat format = new DerivedSourceStoredFieldsFormat(
                delegate.storedFieldsFormat(),
                delegate.docValuesFormat(),
                delegate.knnVectorsFormat(),
                () -> List.of(FIELD));
        return new FilterCodec(EncryptedKnnCodec.NAME, delegate) {
            @Override
            public StoredFieldsFormat storedFieldsFormat() {
                return format;
            }
        };
    }

    public void testRecordVectorsLeaveStoredSourceAndComeBack() throws Exception {
        float[] p = {1f, 2.5f, -0.123456789f};
        float[] z = {0.5f, -1.25f, 3f};
        String zText = EncryptedVector.encodeFloats(z);
        // p as the mapper indexes it (float32), so the derived text is the indexed one
        String pText = "[" + p[0] + "," + p[1] + "," + p[2] + "]";
        String record =
                "{\"p\":" + pText + ",\"n\":\"AAAAAAAAAAAAAAAAAAAAAA==\",\"c\":3,\"z\":\"" + zText + "\",\"e\":2}";
        String source = "{\"" + FIELD + "\":" + record + ",\"title\":\"t\"}";
        // a document without the vector (and its residual): its stored p, if any, stays as it is
        String other = "{\"title\":\"u\"}";
        try (Directory dir = newDirectory()) {
            IndexWriterConfig config =
                    new IndexWriterConfig().setCodec(getCodec()).setUseCompoundFile(false);
            try (IndexWriter writer = new IndexWriter(dir, config)) {
                Document plain = new Document();
                plain.add(new StoredField("_source", new BytesRef(other)));
                writer.addDocument(plain);
                Document doc = new Document();
                doc.add(new StoredField("_id", "d1"));
                doc.add(new StoredField("_source", new BytesRef(source)));
                doc.add(new KnnFloatVectorField(FIELD, p, VectorSimilarityFunction.EUCLIDEAN));
                doc.add(new BinaryDocValuesField(
                        ResidualDocValues.residualField(FIELD), ResidualDocValues.encodeResidual(3, 2, z)));
                writer.addDocument(doc);
                if (random().nextBoolean()) {
                    writer.forceMerge(
                            1); // merges read through the deriving reader and write through the stripping writer
                }
            }
            try (DirectoryReader reader = DirectoryReader.open(dir)) {
                // what every reader sees: the record as indexed, p first and z back in its place before e
                assertEquals(other, source(reader, 0));
                assertEquals(source, source(reader, 1));
                assertEquals("d1", reader.storedFields().document(1).get("_id"));
                // a visitor without _source gets the _id from the small blocks, and is asked about _source once
                int[] askedForSource = {0};
                DocumentStoredFieldVisitor idOnly = new DocumentStoredFieldVisitor("_id") {
                    @Override
                    public Status needsField(org.apache.lucene.index.FieldInfo fieldInfo) throws java.io.IOException {
                        askedForSource[0] += fieldInfo.name.equals("_source") ? 1 : 0;
                        return super.needsField(fieldInfo);
                    }
                };
                reader.storedFields().document(1, idOnly);
                assertEquals("d1", idOnly.getDocument().get("_id"));
                assertNull(idOnly.getDocument().getField("_source"));
                assertEquals(1, askedForSource[0]);

                // what the segment holds: the delegate's own reader, which derives nothing, finds neither p nor z, and
                // no other field than _source (the rest is in the small blocks of METADATA)
                Document all = onDisk(reader, 1);
                assertEquals(
                        List.of("_source"),
                        all.getFields().stream().map(f -> f.name()).toList());
                String onDisk = all.getBinaryValue("_source").utf8ToString();
                assertEquals(
                        "{\"" + FIELD + "\":{\"n\":\"AAAAAAAAAAAAAAAAAAAAAA==\",\"c\":3,\"e\":2},\"title\":\"t\"}",
                        onDisk);
            }
        }
    }

    /** A sealed record's s leaves the stored source as z does, and comes back from the residual doc value. */
    public void testSealedRecordLeavesStoredSourceAndComesBack() throws Exception {
        float[] p = {0.25f, -2f};
        byte[] sealed = new byte[RecordFormat.sealedBytes(3)];
        random().nextBytes(sealed);
        String sText = java.util.Base64.getEncoder().encodeToString(sealed);
        String record = "{\"p\":[" + p[0] + "," + p[1] + "],\"n\":\"AAAAAAAAAAAAAAAAAAAAAA==\",\"s\":\"" + sText
                + "\",\"e\":2}";
        String source = "{\"" + FIELD + "\":" + record + "}";
        try (Directory dir = newDirectory()) {
            IndexWriterConfig config =
                    new IndexWriterConfig().setCodec(getCodec()).setUseCompoundFile(false);
            try (IndexWriter writer = new IndexWriter(dir, config)) {
                Document doc = new Document();
                doc.add(new StoredField("_source", new BytesRef(source)));
                doc.add(new KnnFloatVectorField(FIELD, p, VectorSimilarityFunction.EUCLIDEAN));
                doc.add(new BinaryDocValuesField(
                        ResidualDocValues.residualField(FIELD), ResidualDocValues.encodeSealed(2, sealed)));
                writer.addDocument(doc);
                if (random().nextBoolean()) {
                    writer.forceMerge(1);
                }
            }
            try (DirectoryReader reader = DirectoryReader.open(dir)) {
                assertEquals(source, source(reader, 0));
                assertEquals(
                        "{\"" + FIELD + "\":{\"n\":\"AAAAAAAAAAAAAAAAAAAAAA==\",\"e\":2}}",
                        onDisk(reader, 0).getBinaryValue("_source").utf8ToString());
            }
        }
    }

    /**
     * What the segment holds for {@code doc} (of the first leaf): the delegate's own stored fields reader, which
     * derives nothing.
     */
    private static Document onDisk(DirectoryReader reader, int doc) throws java.io.IOException {
        SegmentReader segment = (SegmentReader) reader.leaves().get(0).reader();
        DocumentStoredFieldVisitor all = new DocumentStoredFieldVisitor();
        try (StoredFieldsReader stored = new Lucene103Codec()
                .storedFieldsFormat()
                .fieldsReader(
                        segment.directory(),
                        segment.getSegmentInfo().info,
                        segment.getFieldInfos(),
                        IOContext.DEFAULT)) {
            stored.document(doc, all);
        }
        return all.getDocument();
    }

    private static String source(DirectoryReader reader, int doc) throws java.io.IOException {
        return reader.storedFields().document(doc).getBinaryValue("_source").utf8ToString();
    }
}

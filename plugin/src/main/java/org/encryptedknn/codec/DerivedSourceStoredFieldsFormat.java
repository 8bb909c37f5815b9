package org.encryptedknn.codec;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.apache.lucene.codecs.DocValuesFormat;
import org.apache.lucene.codecs.DocValuesProducer;
import org.apache.lucene.codecs.StoredFieldsFormat;
import org.apache.lucene.codecs.StoredFieldsReader;
import org.apache.lucene.codecs.StoredFieldsWriter;
import org.apache.lucene.index.BinaryDocValues;
import org.apache.lucene.index.DocValuesType;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.index.FieldInfos;
import org.apache.lucene.index.SegmentInfo;
import org.apache.lucene.index.SegmentReadState;
import org.apache.lucene.index.StoredFieldDataInput;
import org.apache.lucene.index.StoredFieldVisitor;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.IOContext;
import org.apache.lucene.util.BytesRef;
import org.apache.lucene.util.IOUtils;
import org.encryptedknn.mapper.ResidualDocValues;
import org.opensearch.index.mapper.SourceFieldMapper;

/**
 * Stored fields of an encrypted index without the second copy of each keyed residual: {@code z} is stored once, in the
 * {@code <field>._residual} binary doc values the rescorer reads, and derived back into {@code _source} whenever a
 * document's stored fields are read (GET, search hits, {@code _reindex}, update, merges). So every API still sees the
 * record {@code {"p","n","c","z","e"}} as it was indexed, and the index is ≈ 1.5 KB per document smaller.
 *
 * <p>Writer: the {@code _source} stored field goes to the delegate without {@code z} of the fields named by
 * {@code encryptedFields} (the mapping's {@code encrypted_knn_vector} fields, known when the segment is written).
 * Reader: for every field {@code f} of the segment that has {@code f._residual} doc values, a visitor asking for
 * {@code _source} gets it with {@code z} put back from those doc values; nothing else changes. Merges go through the
 * same pair (the reader derives, the writer strips), so they never lose a residual.
 */
final class DerivedSourceStoredFieldsFormat extends StoredFieldsFormat {

    private final StoredFieldsFormat delegate;
    private final DocValuesFormat docValuesFormat;
    private final Supplier<List<String>> encryptedFields;

    /**
     * @param delegate        the codec's own stored fields format (it writes and reads the bytes)
     * @param docValuesFormat the codec's doc values format (opens the segment's residual doc values)
     * @param encryptedFields the encrypted fields of the current mapping (write side; empty on the read-only path)
     */
    DerivedSourceStoredFieldsFormat(
            StoredFieldsFormat delegate, DocValuesFormat docValuesFormat, Supplier<List<String>> encryptedFields) {
        this.delegate = delegate;
        this.docValuesFormat = docValuesFormat;
        this.encryptedFields = encryptedFields;
    }

    @Override
    public StoredFieldsWriter fieldsWriter(Directory directory, SegmentInfo si, IOContext context) throws IOException {
        return new Writer(delegate.fieldsWriter(directory, si, context), encryptedFields.get());
    }

    @Override
    public StoredFieldsReader fieldsReader(Directory directory, SegmentInfo si, FieldInfos fn, IOContext context)
            throws IOException {
        StoredFieldsReader in = delegate.fieldsReader(directory, si, fn, context);
        Map<String, FieldInfo> residuals = new LinkedHashMap<>();
        for (FieldInfo fi : fn) {
            if (fi.name.endsWith(ResidualDocValues.RESIDUAL_SUFFIX) && fi.getDocValuesType() == DocValuesType.BINARY) {
                residuals.put(fi.name.substring(0, fi.name.length() - ResidualDocValues.RESIDUAL_SUFFIX.length()), fi);
            }
        }
        if (residuals.isEmpty()) {
            return in;
        }
        DocValuesProducer docValues = null;
        try {
            docValues = docValuesFormat.fieldsProducer(new SegmentReadState(directory, si, fn, context));
            return new Reader(in, docValues, residuals, true);
        } catch (IOException | RuntimeException e) {
            IOUtils.closeWhileHandlingException(in, docValues);
            throw e;
        }
    }

    private static boolean isSource(FieldInfo info) {
        return SourceFieldMapper.NAME.equals(info.name);
    }

    /** Passes everything through, {@code _source} without {@code z}. */
    private static final class Writer extends StoredFieldsWriter {
        private final StoredFieldsWriter in;
        private final List<String> fields;

        Writer(StoredFieldsWriter in, List<String> fields) {
            this.in = in;
            this.fields = fields;
        }

        @Override
        public void startDocument() throws IOException {
            in.startDocument();
        }

        @Override
        public void finishDocument() throws IOException {
            in.finishDocument();
        }

        @Override
        public void writeField(FieldInfo info, int value) throws IOException {
            in.writeField(info, value);
        }

        @Override
        public void writeField(FieldInfo info, long value) throws IOException {
            in.writeField(info, value);
        }

        @Override
        public void writeField(FieldInfo info, float value) throws IOException {
            in.writeField(info, value);
        }

        @Override
        public void writeField(FieldInfo info, double value) throws IOException {
            in.writeField(info, value);
        }

        @Override
        public void writeField(FieldInfo info, StoredFieldDataInput value) throws IOException {
            if (isSource(info)) {
                byte[] bytes = new byte[value.getLength()];
                value.getDataInput().readBytes(bytes, 0, bytes.length);
                writeField(info, new BytesRef(bytes));
            } else {
                in.writeField(info, value);
            }
        }

        @Override
        public void writeField(FieldInfo info, BytesRef value) throws IOException {
            BytesRef stripped = isSource(info) ? ResidualSource.strip(value, fields) : null;
            in.writeField(info, stripped == null ? value : stripped);
        }

        @Override
        public void writeField(FieldInfo info, String value) throws IOException {
            in.writeField(info, value);
        }

        @Override
        public void finish(int numDocs) throws IOException {
            in.finish(numDocs);
        }

        @Override
        public void close() throws IOException {
            in.close();
        }

        @Override
        public long ramBytesUsed() {
            return in.ramBytesUsed();
        }
    }

    /** Reads through the delegate; a visited {@code _source} gets its residuals back. */
    private static final class Reader extends StoredFieldsReader {
        private final StoredFieldsReader in;
        private final DocValuesProducer docValues;
        private final Map<String, FieldInfo> residuals; // encrypted field → its residual doc values field
        private final boolean owner; // clones and merge instances share the doc values producer; the original closes it

        Reader(StoredFieldsReader in, DocValuesProducer docValues, Map<String, FieldInfo> residuals, boolean owner) {
            this.in = in;
            this.docValues = docValues;
            this.residuals = residuals;
            this.owner = owner;
        }

        @Override
        public void document(int docID, StoredFieldVisitor visitor) throws IOException {
            in.document(docID, new DerivingVisitor(visitor, docID));
        }

        @Override
        public void prefetch(int docID) throws IOException {
            in.prefetch(docID);
        }

        @Override
        public StoredFieldsReader clone() {
            return new Reader(in.clone(), docValues, residuals, false);
        }

        @Override
        public StoredFieldsReader getMergeInstance() {
            return new Reader(in.getMergeInstance(), docValues, residuals, false);
        }

        @Override
        public void checkIntegrity() throws IOException {
            in.checkIntegrity();
        }

        @Override
        public void close() throws IOException {
            if (owner) {
                IOUtils.close(in, docValues);
            } else {
                in.close();
            }
        }

        /** z of {@code field} for {@code docID}, or null when the document has no residual record. */
        private float[] residual(String field, int docID) {
            try {
                BinaryDocValues values = docValues.getBinary(residuals.get(field));
                return values != null && values.advanceExact(docID)
                        ? ResidualDocValues.residual(values.binaryValue()).z()
                        : null;
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(
                        "reading " + field + ResidualDocValues.RESIDUAL_SUFFIX + " of doc " + docID, e);
            }
        }

        /** Forwards every callback; the {@code _source} bytes are derived first. */
        private final class DerivingVisitor extends StoredFieldVisitor {
            private final StoredFieldVisitor out;
            private final int docID;

            DerivingVisitor(StoredFieldVisitor out, int docID) {
                this.out = out;
                this.docID = docID;
            }

            @Override
            public Status needsField(FieldInfo fieldInfo) throws IOException {
                return out.needsField(fieldInfo);
            }

            @Override
            public void binaryField(FieldInfo fieldInfo, StoredFieldDataInput value) throws IOException {
                if (isSource(fieldInfo)) {
                    byte[] bytes = new byte[value.getLength()];
                    value.getDataInput().readBytes(bytes, 0, bytes.length);
                    binaryField(fieldInfo, bytes);
                } else {
                    out.binaryField(fieldInfo, value);
                }
            }

            @Override
            public void binaryField(FieldInfo fieldInfo, byte[] value) throws IOException {
                if (isSource(fieldInfo)) {
                    BytesRef derived = ResidualSource.inject(
                            new BytesRef(value), residuals.keySet(), field -> residual(field, docID));
                    out.binaryField(fieldInfo, derived == null ? value : BytesRef.deepCopyOf(derived).bytes);
                } else {
                    out.binaryField(fieldInfo, value);
                }
            }

            @Override
            public void stringField(FieldInfo fieldInfo, String value) throws IOException {
                out.stringField(fieldInfo, value);
            }

            @Override
            public void intField(FieldInfo fieldInfo, int value) throws IOException {
                out.intField(fieldInfo, value);
            }

            @Override
            public void longField(FieldInfo fieldInfo, long value) throws IOException {
                out.longField(fieldInfo, value);
            }

            @Override
            public void floatField(FieldInfo fieldInfo, float value) throws IOException {
                out.floatField(fieldInfo, value);
            }

            @Override
            public void doubleField(FieldInfo fieldInfo, double value) throws IOException {
                out.doubleField(fieldInfo, value);
            }
        }
    }
}

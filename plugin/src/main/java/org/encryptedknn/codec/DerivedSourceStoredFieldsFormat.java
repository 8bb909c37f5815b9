package org.encryptedknn.codec;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.apache.lucene.codecs.DocValuesFormat;
import org.apache.lucene.codecs.DocValuesProducer;
import org.apache.lucene.codecs.KnnVectorsFormat;
import org.apache.lucene.codecs.KnnVectorsReader;
import org.apache.lucene.codecs.StoredFieldsFormat;
import org.apache.lucene.codecs.StoredFieldsReader;
import org.apache.lucene.codecs.StoredFieldsWriter;
import org.apache.lucene.codecs.compressing.CompressionMode;
import org.apache.lucene.codecs.lucene90.compressing.Lucene90CompressingStoredFieldsFormat;
import org.apache.lucene.index.BinaryDocValues;
import org.apache.lucene.index.DocValuesType;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.index.FieldInfos;
import org.apache.lucene.index.FloatVectorValues;
import org.apache.lucene.index.KnnVectorValues;
import org.apache.lucene.index.SegmentInfo;
import org.apache.lucene.index.SegmentReadState;
import org.apache.lucene.index.StoredFieldDataInput;
import org.apache.lucene.index.StoredFieldVisitor;
import org.apache.lucene.index.VectorEncoding;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.IOContext;
import org.apache.lucene.util.BytesRef;
import org.apache.lucene.util.IOUtils;
import org.encryptedknn.mapper.ResidualDocValues;
import org.encryptedknn.transform.ResidualLayout;
import org.opensearch.index.mapper.SourceFieldMapper;

/**
 * Stored fields of an encrypted index without a second copy of each record's vectors: the encrypted prefix {@code p} is
 * stored once, as the field's float32 vector values (the HNSW graph's), and the keyed residual {@code z} once, in the
 * {@code <field>._residual} binary doc values the rescorer reads; both are derived back into {@code _source} whenever a
 * document's stored fields are read (GET, search hits, {@code _reindex}, update, merges). So every API still sees the
 * record {@code {"p","n","c","z","e"}} as it was indexed (p as float32 numbers, which is what the mapper indexed), and
 * the index is ≈ 1.5 KB (z) and ≈ 0.9 KB (p at 96 dimensions) per document smaller.
 *
 * <p>Writer: the {@code _source} stored field goes to the delegate without {@code p} and {@code z} of the fields named
 * by {@code encryptedFields} (the mapping's {@code encrypted_knn_vector} fields, known when the segment is written).
 * Reader: for every field {@code f} of the segment that has {@code f._residual} doc values, a visitor asking for
 * {@code _source} gets it with {@code z} put back from those doc values and {@code p} from f's vector values; nothing
 * else changes. A segment written before p was derived still has p in its stored source, which is then left as it is.
 * Merges go through the same pair (the reader derives, the writer strips), so they never lose a record.
 *
 * <p>Stored fields in two parts: {@code _source} in the delegate's format, every other stored field ({@code _id},
 * {@code _routing}, {@code _ignored}, fields mapped with {@code store}) in small LZ4 blocks of their own
 * ({@link #METADATA}). A search hit without {@code _source} — every window hit of the encrypted search modes, which
 * take the record from doc values and the vector instead — then costs the decompression of a block of a few ids, not of
 * the delegate's block of tens of kilobytes of sources (JFR: ≈ 80 % of the fetch of a 100-hit window). The segment's
 * attribute {@value #SPLIT_KEY} says it is written so; a segment without it (written before) holds everything in the
 * delegate's format and is read as before.
 */
final class DerivedSourceStoredFieldsFormat extends StoredFieldsFormat {

    /** Segment attribute: the stored fields other than {@code _source} are in {@link #METADATA}. */
    static final String SPLIT_KEY = "EncryptedKnnStoredFields.split";

    /**
     * The stored fields other than {@code _source}: LZ4 blocks of at most 4 KB or 64 documents, so that reading one
     * hit's {@code _id} decompresses a few hundred bytes (the delegate's blocks hold 80 KB, or 480 KB compressed best).
     */
    static final StoredFieldsFormat METADATA = new Lucene90CompressingStoredFieldsFormat(
            "EncryptedKnnMetadataStoredFields", "eknnmeta", CompressionMode.FAST, 4 * 1024, 64, 10);

    private final StoredFieldsFormat delegate;
    private final DocValuesFormat docValuesFormat;
    private final KnnVectorsFormat vectorsFormat;
    private final Supplier<List<String>> encryptedFields;

    /**
     * @param delegate        the codec's own stored fields format (it writes and reads the bytes)
     * @param docValuesFormat the codec's doc values format (opens the segment's residual doc values)
     * @param vectorsFormat   the codec's vector format (opens the segment's prefix vectors)
     * @param encryptedFields the encrypted fields of the current mapping (write side; empty on the read-only path)
     */
    DerivedSourceStoredFieldsFormat(
            StoredFieldsFormat delegate,
            DocValuesFormat docValuesFormat,
            KnnVectorsFormat vectorsFormat,
            Supplier<List<String>> encryptedFields) {
        this.delegate = delegate;
        this.docValuesFormat = docValuesFormat;
        this.vectorsFormat = vectorsFormat;
        this.encryptedFields = encryptedFields;
    }

    @Override
    public StoredFieldsWriter fieldsWriter(Directory directory, SegmentInfo si, IOContext context) throws IOException {
        StoredFieldsWriter source = delegate.fieldsWriter(directory, si, context);
        StoredFieldsWriter metadata = null;
        try {
            metadata = METADATA.fieldsWriter(directory, si, context);
            si.putAttribute(SPLIT_KEY, "1");
            return new Writer(source, metadata, encryptedFields.get());
        } catch (IOException | RuntimeException e) {
            IOUtils.closeWhileHandlingException(source, metadata);
            throw e;
        }
    }

    @Override
    public StoredFieldsReader fieldsReader(Directory directory, SegmentInfo si, FieldInfos fn, IOContext context)
            throws IOException {
        StoredFieldsReader in = delegate.fieldsReader(directory, si, fn, context);
        StoredFieldsReader metadata = null;
        DocValuesProducer docValues = null;
        KnnVectorsReader vectors = null;
        try {
            if ("1".equals(si.getAttribute(SPLIT_KEY))) {
                metadata = METADATA.fieldsReader(directory, si, fn, context);
            }
            Map<String, FieldInfo> residuals = new LinkedHashMap<>();
            boolean prefixes = false;
            for (FieldInfo fi : fn) {
                if (fi.name.endsWith(ResidualDocValues.RESIDUAL_SUFFIX)
                        && fi.getDocValuesType() == DocValuesType.BINARY) {
                    String field = fi.name.substring(0, fi.name.length() - ResidualDocValues.RESIDUAL_SUFFIX.length());
                    residuals.put(field, fi);
                    prefixes |= isPrefix(fn.fieldInfo(field));
                }
            }
            if (residuals.isEmpty() && metadata == null) {
                return in;
            }
            SegmentReadState state = new SegmentReadState(directory, si, fn, context);
            docValues = residuals.isEmpty() ? null : docValuesFormat.fieldsProducer(state);
            vectors = prefixes ? vectorsFormat.fieldsReader(state) : null;
            return new Reader(in, metadata, fn.fieldInfo(SourceFieldMapper.NAME), docValues, vectors, residuals, true);
        } catch (IOException | RuntimeException e) {
            IOUtils.closeWhileHandlingException(in, metadata, docValues, vectors);
            throw e;
        }
    }

    /** The encrypted field's own FieldInfo holds its prefixes as float32 vectors. */
    private static boolean isPrefix(FieldInfo info) {
        return info != null && info.hasVectorValues() && info.getVectorEncoding() == VectorEncoding.FLOAT32;
    }

    private static boolean isSource(FieldInfo info) {
        return SourceFieldMapper.NAME.equals(info.name);
    }

    /** {@code _source} without {@code p} and {@code z} to the delegate's writer, every other field to {@link #METADATA}'s. */
    private static final class Writer extends StoredFieldsWriter {
        private final StoredFieldsWriter source;
        private final StoredFieldsWriter metadata;
        private final List<String> fields;

        Writer(StoredFieldsWriter source, StoredFieldsWriter metadata, List<String> fields) {
            this.source = source;
            this.metadata = metadata;
            this.fields = fields;
        }

        @Override
        public void startDocument() throws IOException {
            source.startDocument();
            metadata.startDocument();
        }

        @Override
        public void finishDocument() throws IOException {
            source.finishDocument();
            metadata.finishDocument();
        }

        @Override
        public void writeField(FieldInfo info, int value) throws IOException {
            metadata.writeField(info, value);
        }

        @Override
        public void writeField(FieldInfo info, long value) throws IOException {
            metadata.writeField(info, value);
        }

        @Override
        public void writeField(FieldInfo info, float value) throws IOException {
            metadata.writeField(info, value);
        }

        @Override
        public void writeField(FieldInfo info, double value) throws IOException {
            metadata.writeField(info, value);
        }

        @Override
        public void writeField(FieldInfo info, StoredFieldDataInput value) throws IOException {
            if (isSource(info)) {
                byte[] bytes = new byte[value.getLength()];
                value.getDataInput().readBytes(bytes, 0, bytes.length);
                writeField(info, new BytesRef(bytes));
            } else {
                metadata.writeField(info, value);
            }
        }

        @Override
        public void writeField(FieldInfo info, BytesRef value) throws IOException {
            if (isSource(info)) {
                BytesRef stripped = RecordSource.strip(value, fields);
                source.writeField(info, stripped == null ? value : stripped);
            } else {
                metadata.writeField(info, value);
            }
        }

        @Override
        public void writeField(FieldInfo info, String value) throws IOException {
            metadata.writeField(info, value);
        }

        @Override
        public void finish(int numDocs) throws IOException {
            source.finish(numDocs);
            metadata.finish(numDocs);
        }

        @Override
        public void close() throws IOException {
            IOUtils.close(source, metadata);
        }

        @Override
        public long ramBytesUsed() {
            return source.ramBytesUsed() + metadata.ramBytesUsed();
        }
    }

    /**
     * Reads a document's fields from {@link #METADATA} first, then its {@code _source} from the delegate only if the
     * visitor wants it (a split segment); a visited {@code _source} gets its prefixes and residuals back.
     */
    private static final class Reader extends StoredFieldsReader {
        private final StoredFieldsReader in;
        private final StoredFieldsReader metadata; // null for a segment written before the split: all fields are in
        private final FieldInfo sourceInfo; // null when the segment stores no _source
        private final DocValuesProducer docValues; // null when the segment has no encrypted field
        private final KnnVectorsReader vectors; // null when no encrypted field of the segment has vectors
        private final Map<String, FieldInfo> residuals; // encrypted field → its residual doc values field
        private final boolean owner; // clones and merge instances share the producers; the original closes them

        Reader(
                StoredFieldsReader in,
                StoredFieldsReader metadata,
                FieldInfo sourceInfo,
                DocValuesProducer docValues,
                KnnVectorsReader vectors,
                Map<String, FieldInfo> residuals,
                boolean owner) {
            this.in = in;
            this.metadata = metadata;
            this.sourceInfo = sourceInfo;
            this.docValues = docValues;
            this.vectors = vectors;
            this.residuals = residuals;
            this.owner = owner;
        }

        @Override
        public void document(int docID, StoredFieldVisitor visitor) throws IOException {
            StoredFieldVisitor deriving = residuals.isEmpty() ? visitor : new DerivingVisitor(visitor, docID);
            if (metadata == null) {
                in.document(docID, deriving);
                return;
            }
            StopWatchingVisitor first = new StopWatchingVisitor(visitor);
            metadata.document(docID, first);
            // the delegate's block is decompressed only for a visitor that wants the source (asked once, as Lucene
            // would)
            if (first.stopped == false
                    && sourceInfo != null
                    && visitor.needsField(sourceInfo) == StoredFieldVisitor.Status.YES) {
                in.document(docID, new SourceOnlyVisitor(deriving));
            }
        }

        @Override
        public void prefetch(int docID) throws IOException {
            if (metadata != null) {
                metadata.prefetch(docID);
            }
            in.prefetch(docID);
        }

        @Override
        public StoredFieldsReader clone() {
            return new Reader(
                    in.clone(),
                    metadata == null ? null : metadata.clone(),
                    sourceInfo,
                    docValues,
                    vectors,
                    residuals,
                    false);
        }

        @Override
        public StoredFieldsReader getMergeInstance() {
            return new Reader(
                    in.getMergeInstance(),
                    metadata == null ? null : metadata.getMergeInstance(),
                    sourceInfo,
                    docValues,
                    vectors,
                    residuals,
                    false);
        }

        @Override
        public void checkIntegrity() throws IOException {
            in.checkIntegrity();
            if (metadata != null) {
                metadata.checkIntegrity();
            }
        }

        @Override
        public void close() throws IOException {
            if (owner) {
                IOUtils.close(in, metadata, docValues, vectors);
            } else {
                IOUtils.close(in, metadata);
            }
        }

        /**
         * The residual record (z, or a sealed record's s) of {@code field} for {@code docID}, or null when the document
         * has none.
         */
        private ResidualLayout.Residual residual(String field, int docID) {
            try {
                BinaryDocValues values = docValues.getBinary(residuals.get(field));
                return values != null && values.advanceExact(docID)
                        ? ResidualDocValues.residual(values.binaryValue())
                        : null;
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(
                        "reading " + field + ResidualDocValues.RESIDUAL_SUFFIX + " of doc " + docID, e);
            }
        }

        /** p of {@code field} for {@code docID} (the field's vector), or null when the document has none. */
        private float[] prefix(String field, int docID) {
            try {
                FloatVectorValues values = vectors == null ? null : vectors.getFloatVectorValues(field);
                if (values == null) {
                    return null;
                }
                KnnVectorValues.DocIndexIterator it = values.iterator();
                return it.advance(docID) == docID
                        ? values.vectorValue(it.index()).clone()
                        : null;
            } catch (IOException e) {
                throw new java.io.UncheckedIOException("reading the vector " + field + " of doc " + docID, e);
            }
        }

        /** Forwards every callback; the {@code _source} bytes are derived first. */
        private final class DerivingVisitor extends ForwardingVisitor {
            private final int docID;

            DerivingVisitor(StoredFieldVisitor out, int docID) {
                super(out);
                this.docID = docID;
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
                    BytesRef derived = RecordSource.inject(
                            new BytesRef(value),
                            residuals.keySet(),
                            field -> prefix(field, docID),
                            field -> residual(field, docID));
                    out.binaryField(fieldInfo, derived == null ? value : BytesRef.deepCopyOf(derived).bytes);
                } else {
                    out.binaryField(fieldInfo, value);
                }
            }
        }
    }

    /** Forwards every callback to {@code out}. */
    private static class ForwardingVisitor extends StoredFieldVisitor {
        final StoredFieldVisitor out;

        ForwardingVisitor(StoredFieldVisitor out) {
            this.out = out;
        }

        @Override
        public Status needsField(FieldInfo fieldInfo) throws IOException {
            return out.needsField(fieldInfo);
        }

        @Override
        public void binaryField(FieldInfo fieldInfo, StoredFieldDataInput value) throws IOException {
            out.binaryField(fieldInfo, value);
        }

        @Override
        public void binaryField(FieldInfo fieldInfo, byte[] value) throws IOException {
            out.binaryField(fieldInfo, value);
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

    /** Remembers whether the visitor said {@code STOP}: then the document's {@code _source} is not read either. */
    private static final class StopWatchingVisitor extends ForwardingVisitor {
        boolean stopped;

        StopWatchingVisitor(StoredFieldVisitor out) {
            super(out);
        }

        @Override
        public Status needsField(FieldInfo fieldInfo) throws IOException {
            Status status = out.needsField(fieldInfo);
            stopped |= status == Status.STOP;
            return status;
        }
    }

    /** The visitor already said yes to {@code _source}; the delegate's part of a split segment holds nothing else. */
    private static final class SourceOnlyVisitor extends ForwardingVisitor {
        SourceOnlyVisitor(StoredFieldVisitor out) {
            super(out);
        }

        @Override
        public Status needsField(FieldInfo fieldInfo) {
            return isSource(fieldInfo) ? Status.YES : Status.STOP;
        }
    }
}

package org.encryptedknn.corpus;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.CharSpan;
import dev.langchain4j.data.embedding.Embedding;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.embedding.EmbeddingModel;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * In-process sentence encoder ({@link Encoder}: all-MiniLM-L6-v2 by default, or e5-small-v2; ONNX, 384-d) through
 * langchain4j. The model and its tokenizer ship inside the langchain4j jar, and the ONNX Runtime and tokenizer native
 * libraries inside theirs, so nothing is downloaded. Vectors are L2-normalised (to float
 * precision) so that inner product equals cosine similarity.
 *
 * <p>Texts are cut to {@value #MAX_TOKENS} word pieces (with [CLS] and [SEP]) before encoding, as
 * sentence-transformers does for this model (max_seq_length 256); langchain4j by itself would
 * instead average 510-token windows, which is slower and not what the model was trained for.
 *
 * <p>Batches are spread over langchain4j's own thread pool (one inference per core): on 2 cores
 * that measured about twice as fast as one inference at a time on the calling thread
 * ({@code -Dencrypted_knn.embed.parallel=false} selects the latter). Thread-safe.
 */
public final class Embedder {
    /** The default encoder's name (all-MiniLM-L6-v2). */
    public static final String MODEL_NAME = Encoder.DEFAULT.wireName();

    public static final int DIMENSION = 384;
    /** Input length limit in word pieces, special tokens included (sentence-transformers' max_seq_length). */
    public static final int MAX_TOKENS = 256;

    private static final Map<Encoder, Embedder> SHARED = new EnumMap<>(Encoder.class);

    private final Encoder encoder;
    private final EmbeddingModel model;
    private final HuggingFaceTokenizer tokenizer;

    private Embedder(Encoder encoder, EmbeddingModel model, HuggingFaceTokenizer tokenizer) {
        this.encoder = encoder;
        this.model = model;
        this.tokenizer = tokenizer;
    }

    private static HuggingFaceTokenizer loadTokenizer(Encoder encoder) {
        String resource = encoder.tokenizerResource();
        try (InputStream in = encoder.modelClass().getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException(
                        resource + " not found in the langchain4j " + encoder.wireName() + " jar");
            }
            return HuggingFaceTokenizer.newInstance(
                    in, Map.of("truncation", "false", "padding", "false", "addSpecialTokens", "false"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The prefix of {@code text} that fits in {@value #MAX_TOKENS} word pieces with [CLS] and [SEP]. */
    public String truncate(String text) {
        if (text.length() < MAX_TOKENS) {
            return text; // fewer characters than tokens allowed: cannot exceed
        }
        Encoding enc = tokenizer.encode(text, false, false);
        CharSpan[] spans = enc.getCharTokenSpans();
        int limit = MAX_TOKENS - 2;
        if (spans == null || spans.length <= limit) {
            return text;
        }
        int end = Math.min(text.length(), Math.max(0, spans[limit - 1].getEnd()));
        if (end > 0 && end < text.length() && Character.isHighSurrogate(text.charAt(end - 1))) {
            end--;
        }
        return text.substring(0, end);
    }

    /** The process-wide default encoder (the model is loaded once, ~90 MB). */
    public static Embedder shared() {
        return shared(Encoder.DEFAULT);
    }

    /** The process-wide instance of {@code encoder}, loaded on first use. */
    public static Embedder shared(Encoder encoder) {
        synchronized (SHARED) {
            return SHARED.computeIfAbsent(encoder, e -> {
                prepareNativeCacheDirs();
                boolean parallel = !"false".equalsIgnoreCase(System.getProperty("encrypted_knn.embed.parallel"));
                return new Embedder(e, e.newModel(parallel ? null : Runnable::run), loadTokenizer(e));
            });
        }
    }

    public Encoder encoder() {
        return encoder;
    }

    public String modelName() {
        return encoder.wireName();
    }

    public int dimension() {
        return DIMENSION;
    }

    /** Embeds one text; the result has unit L2 norm. */
    public float[] embed(String text) {
        Embedding e = model.embed(input(text)).content();
        return normalise(e.vector());
    }

    /** Embeds texts in order. */
    public float[][] embedAll(List<String> texts) {
        return embedAll(texts, null);
    }

    /** Embeds texts in order, stepping {@code progress} (may be null) once per text. */
    public float[][] embedAll(List<String> texts, ProgressBar progress) {
        float[][] out = new float[texts.size()][];
        final int batch = 32;
        for (int from = 0; from < texts.size(); from += batch) {
            int to = Math.min(texts.size(), from + batch);
            List<TextSegment> segs = new ArrayList<>(to - from);
            for (int i = from; i < to; i++) {
                segs.add(TextSegment.from(input(texts.get(i))));
            }
            List<Embedding> embs = model.embedAll(segs).content();
            for (int i = from; i < to; i++) {
                out[i] = normalise(embs.get(i - from).vector());
            }
            if (progress != null) {
                progress.step(to - from);
            }
        }
        return out;
    }

    /** What the model sees: the encoder's text prefix and the text, cut to {@value #MAX_TOKENS} word pieces. */
    private String input(String text) {
        String t = encoder.textPrefix() + text;
        return t.isBlank() ? " " : truncate(t);
    }

    static float[] normalise(float[] v) {
        double ss = 0;
        for (float x : v) {
            ss += (double) x * x;
        }
        if (ss == 0) {
            return v.clone();
        }
        double inv = 1.0 / Math.sqrt(ss);
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = (float) (v[i] * inv);
        }
        return out;
    }

    /**
     * DJL extracts the tokenizer's native library into {@code ~/.djl.ai}; when the home directory
     * is not writable (an unprivileged service user), point it at our cache directory instead.
     * ONNX Runtime extracts into {@code java.io.tmpdir}, which is writable.
     */
    private static void prepareNativeCacheDirs() {
        if (System.getProperty("DJL_CACHE_DIR") == null && System.getenv("DJL_CACHE_DIR") == null) {
            Path home = Paths.get(System.getProperty("user.home", "/nonexistent"));
            Path djl = home.resolve(".djl.ai");
            if (!writableOrCreatable(djl)) {
                try {
                    Path dir = CacheDirs.writable().resolve("djl");
                    Files.createDirectories(dir);
                    System.setProperty("DJL_CACHE_DIR", dir.toString());
                } catch (IOException e) {
                    System.setProperty(
                            "DJL_CACHE_DIR",
                            Paths.get(System.getProperty("java.io.tmpdir"), "encrypted-knn-djl")
                                    .toString());
                }
            }
        }
        if (System.getProperty("ai.djl.offline") == null) {
            System.setProperty("ai.djl.offline", "true");
        }
    }

    private static boolean writableOrCreatable(Path dir) {
        try {
            Files.createDirectories(dir);
            return Files.isWritable(dir);
        } catch (IOException | SecurityException e) {
            return false;
        }
    }
}

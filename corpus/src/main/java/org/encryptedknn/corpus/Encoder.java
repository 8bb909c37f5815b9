package org.encryptedknn.corpus;

import dev.langchain4j.model.embedding.EmbeddingModel;
import dev.langchain4j.model.embedding.onnx.allminilml6v2.AllMiniLmL6V2EmbeddingModel;
import dev.langchain4j.model.embedding.onnx.e5smallv2q.E5SmallV2QuantizedEmbeddingModel;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Executor;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The in-process sentence encoders the corpus can be embedded with (langchain4j's ONNX model jars; nothing is
 * downloaded at run time). Both are 384-d BERT-style models with the uncased WordPiece vocabulary, cut to
 * {@value Embedder#MAX_TOKENS} word pieces. Their neighbourhoods differ: e5-small-v2's neighbours sit about twice as
 * close together as MiniLM's (docs/design.md §7), which is why the model calibrates its window per encoder.
 */
public enum Encoder {
    /** sentence-transformers all-MiniLM-L6-v2 (Apache-2.0), mean pooling; the default. */
    ALL_MINILM_L6_V2(
            "all-minilm-l6-v2",
            "",
            AllMiniLmL6V2EmbeddingModel.class,
            "/all-minilm-l6-v2-tokenizer.json",
            AllMiniLmL6V2EmbeddingModel::new,
            AllMiniLmL6V2EmbeddingModel::new),
    /**
     * intfloat/e5-small-v2 (MIT), quantized by langchain4j, mean pooling. Every text gets the model card's
     * {@code "query: "} prefix (symmetric similarity: documents and queries alike).
     */
    E5_SMALL_V2_Q(
            "e5-small-v2-q",
            "query: ",
            E5SmallV2QuantizedEmbeddingModel.class,
            "/e5-small-v2-q-tokenizer.json",
            E5SmallV2QuantizedEmbeddingModel::new,
            E5SmallV2QuantizedEmbeddingModel::new);

    public static final Encoder DEFAULT = ALL_MINILM_L6_V2;

    private final String wireName;
    private final String textPrefix;
    private final Class<?> modelClass;
    private final String tokenizerResource;
    private final Supplier<EmbeddingModel> parallel;
    private final Function<Executor, EmbeddingModel> onExecutor;

    Encoder(
            String wireName,
            String textPrefix,
            Class<?> modelClass,
            String tokenizerResource,
            Supplier<EmbeddingModel> parallel,
            Function<Executor, EmbeddingModel> onExecutor) {
        this.wireName = wireName;
        this.textPrefix = textPrefix;
        this.modelClass = modelClass;
        this.tokenizerResource = tokenizerResource;
        this.parallel = parallel;
        this.onExecutor = onExecutor;
    }

    /** The name in cache files, vector cache headers and {@code --encoder} options. */
    public String wireName() {
        return wireName;
    }

    public int dimension() {
        return Embedder.DIMENSION;
    }

    /** Prepended to every text before it is embedded (empty for MiniLM). */
    String textPrefix() {
        return textPrefix;
    }

    /** Identifies model and input recipe; part of the vector cache key. */
    public String recipe() {
        return wireName + ";max_tokens=" + Embedder.MAX_TOKENS
                + (textPrefix.isEmpty() ? "" : ";prefix=" + textPrefix.strip());
    }

    Class<?> modelClass() {
        return modelClass;
    }

    String tokenizerResource() {
        return tokenizerResource;
    }

    /** The ONNX model: on langchain4j's own pool (one inference per core), or on the given executor. */
    EmbeddingModel newModel(Executor executor) {
        return executor == null ? parallel.get() : onExecutor.apply(executor);
    }

    /** By {@link #wireName()}; a 400-style message listing the choices otherwise. */
    public static Encoder parse(String name) {
        for (Encoder e : values()) {
            if (e.wireName.equals(name.toLowerCase(Locale.ROOT))) {
                return e;
            }
        }
        throw new IllegalArgumentException("encoder must be one of "
                + Arrays.stream(values()).map(Encoder::wireName).toList() + ", got '" + name + "'");
    }
}

package org.encryptedknn.model;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import javax.crypto.AEADBadTagException;
import org.encryptedknn.keys.AesGcm;
import org.encryptedknn.keys.KeyDerivation;

/**
 * Versioned JSON form of a {@link EncryptionModel} (jackson-core streaming):
 *
 * <pre>
 * {
 *   "format": "encrypted-knn/model/v3",
 *   "id": "m1", "dimension": 384, "space": "cosine", "prefix_dimension": 96, "cells": 16,
 *   "beta": 0.5, "epoch": 1, "created": "2026-01-01T00:00:00Z", "beta_scale": 0.77, "sample_count": 1000,
 *   "residual_norm": 1.0, "cell_jitter": 4.0,
 *   "calibration": { "target_recall": 0.95, "k": 60, "reference_size": 4500, "queries": 500, "growth": 0.5,
 *                    "curve": [ { "k": 10, "recall": 0.7 }, … ] },
 *   "secret": { "alg": "AES-256-GCM", "key": "encrypted-knn/v1/model-seal", "data": "&lt;base64 IV ‖ ciphertext ‖ tag&gt;" }
 * }
 * </pre>
 *
 * The public fields are in clear. The secret (basis V and centroids) is sealed with AES-256-GCM (12-byte random
 * IV) under the {@code model-seal} key derived from the master key; the AAD is the format version, the model id
 * and every public field ({@link #aad}), so neither the secret nor the public part can be altered or swapped
 * between models without detection. Secret plaintext (big-endian): "EKNM", int32 version 2, int32 d,
 * int32 d_pub, int32 C, d·d float32 (V row-major), C·d_pub float32 (centroids row-major), 32-byte key salt.
 *
 * <p>Format v1 ({@code encrypted-knn/model/v1}, secret version 1: no key salt) is still read; {@code _retire} re-seals
 * it as v1, {@code _rotate} upgrades it to v2 ({@link EncryptionModel#upgradeToV2}: a fresh key salt and residual
 * padding from the new epoch on, {@code "upgraded_at_epoch": e} in the public part and the AAD), so indices written
 * under it keep working and are re-keyed to v2 in place; the epochs below e keep key-derivation format v1.
 * Every newly fitted model is v2 and has {@code residual_norm} T (record residual v2: every stored z has norm T,
 * {@link EncryptionModel#residualNorm()}); a v2 model stored without it keeps the unpadded residual z = H_c·r.
 * {@code cell_jitter} (v2 only, models fitted since per-epoch cells): the relative scale of the keyed per-epoch cell
 * jitter ({@link EncryptionModel#cellJitter()}); a model without it keeps one nearest-centroid partition for every epoch.
 *
 * <p>Format v3 ({@code encrypted-knn/model/v3}, the same secret as v2) adds the public {@code calibration}
 * ({@link WindowCalibration}: the default window k measured at fit time and its recall curve), bound into the AAD.
 * Models of v2 and v1 have none and use {@link WindowCalibration#FALLBACK_WINDOW}.
 *
 * <p>Format v4 ({@code encrypted-knn/model/v4}, the same secret) adds the public {@code prefix_norm} B, bound into the
 * AAD: the model's records carry the {@linkplain PrefixLayout#AUGMENTED augmented prefix} [u; t′] of norm B (every
 * model fitted since, unless fitted with the plain layout). Required in v4 and absent before; its calibration is
 * optional (a sample too small to calibrate). Models of v3, v2 and v1 have the plain prefix u and are re-sealed in
 * their own format. {@code prefix_layout} ({@code "augmented"} or {@code "plain"}) is written into every model JSON
 * for the reader's sake, derived from {@code prefix_norm} like {@code absolute_beta}, and ignored when read.
 */
public final class ModelCodec {

    public static final String FORMAT = "encrypted-knn/model/v4";
    /** Models stored before prefix augmentation (plain prefix): read, and re-sealed as they were. */
    public static final String FORMAT_V3 = "encrypted-knn/model/v3";
    /** Models stored before the window calibration: read, and re-sealed as they were. */
    public static final String FORMAT_V2 = "encrypted-knn/model/v2";
    /** Models stored before the key salt: read, and re-sealed as they were. */
    public static final String FORMAT_V1 = "encrypted-knn/model/v1";

    public static final String ALG = "AES-256-GCM";
    private static final int MAGIC = 0x454B4E4D; // "EKNM"
    private static final int SECRET_VERSION = 2;
    private static final int SECRET_VERSION_V1 = 1;
    private static final JsonFactory JSON = new JsonFactory();

    private ModelCodec() {}

    /** The stored form: public fields plus the sealed secret. */
    public static String toJson(EncryptionModel model, KeyDerivation keys) {
        String format = formatOf(model);
        byte[] secret = secretBytes(model);
        byte[] sealed;
        try (AesGcm seal = sealCipher(keys)) {
            sealed = seal.seal(secret, aad(format, ModelMetadata.of(model)));
        } finally {
            Arrays.fill(secret, (byte) 0);
        }
        return write(format, ModelMetadata.of(model), Base64.getEncoder().encodeToString(sealed));
    }

    /**
     * v4 for a model with the augmented prefix; v3 for a plain one with a window calibration; v2 for one with a key salt
     * only, v1 for one without (read from those formats and re-sealed by _rotate/_retire as they were).
     */
    private static String formatOf(EncryptionModel model) {
        return formatOf(ModelMetadata.of(model), model.hasKeySalt());
    }

    private static String formatOf(ModelMetadata meta, boolean hasKeySalt) {
        if (meta.prefixNorm() > 0) {
            return FORMAT;
        }
        return meta.calibration() != null ? FORMAT_V3 : hasKeySalt ? FORMAT_V2 : FORMAT_V1;
    }

    /** Public metadata only, no secret at all (for GET responses and logs). */
    public static String publicJson(EncryptionModel model) {
        return write(formatOf(model), ModelMetadata.of(model), null);
    }

    public static String publicJson(ModelMetadata meta) {
        return write(formatOf(meta, true), meta, null);
    }

    /** Reads the public part of a stored (or public) model JSON; needs no key. */
    public static ModelMetadata readMetadata(String json) {
        return parse(json).meta();
    }

    /**
     * Opens a stored model.
     *
     * @throws ModelDecryptionException if the master key is not the one the model was stored under, or the JSON was altered
     * @throws IllegalArgumentException if the JSON is malformed or of another format version
     */
    public static EncryptionModel fromJson(String json, KeyDerivation keys) {
        Parsed p = parse(json);
        if (p.sealed() == null) {
            throw new IllegalArgumentException(
                    "model '" + p.meta().id() + "' JSON has no secret part (public metadata only)");
        }
        byte[] sealed;
        try {
            sealed = Base64.getDecoder().decode(p.sealed());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("model '" + p.meta().id() + "': secret.data is not valid base64");
        }
        byte[] secret;
        try (AesGcm seal = sealCipher(keys)) {
            secret = seal.open(sealed, aad(p.format(), p.meta()));
        } catch (AEADBadTagException e) {
            throw new ModelDecryptionException(p.meta().id());
        }
        try {
            return fromSecret(p.meta(), secret, FORMAT_V1.equals(p.format()) ? SECRET_VERSION_V1 : SECRET_VERSION);
        } finally {
            Arrays.fill(secret, (byte) 0);
        }
    }

    /** AES-GCM under the model-seal key (the derived bytes are zeroed once the cipher holds its copy). */
    private static AesGcm sealCipher(KeyDerivation keys) {
        byte[] key = keys.modelSealKey();
        try {
            return new AesGcm(key);
        } finally {
            Arrays.fill(key, (byte) 0);
        }
    }

    /** AAD of the sealed secret: format, id and every public field, '\n'-separated, UTF-8. */
    static byte[] aad(String format, ModelMetadata m) {
        ModelParameters p = m.parameters();
        String s = String.join(
                "\n",
                format,
                m.id(),
                Integer.toString(p.dimension()),
                p.space().wireName(),
                Integer.toString(p.prefixDimension()),
                Integer.toString(p.cells()),
                Double.toString(p.beta()),
                Integer.toString(p.epoch()),
                m.created().toString(),
                Double.toString(m.betaScale()),
                Integer.toString(m.sampleCount()));
        if (p.firstEpoch() > 1) { // bound too once epochs are retired; models that never retired one keep their AAD
            s += "\nfirst_epoch=" + p.firstEpoch();
        }
        if (m.residualNorm() > 0) { // models fitted before residual padding keep their AAD
            s += "\nresidual_norm=" + m.residualNorm();
        }
        if (m.cellJitter() > 0) { // models fitted before per-epoch cells keep their AAD
            s += "\ncell_jitter=" + m.cellJitter();
        }
        if (m.upgradedAtEpoch() > 0) { // which epochs keep format v1 is authenticated with the rest
            s += "\nupgraded_at_epoch=" + m.upgradedAtEpoch();
        }
        if (m.calibration() != null) { // format v3 (optional in v4)
            s += "\ncalibration=" + calibrationAad(m.calibration());
        }
        if (m.prefixNorm() > 0) { // format v4
            s += "\nprefix_norm=" + m.prefixNorm();
        }
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] secretBytes(EncryptionModel model) {
        ModelParameters p = model.parameters();
        float[] basis = model.basisRef();
        float[] centroids = model.centroidsRef();
        byte[] salt = model.hasKeySalt() ? model.keySalt() : new byte[0];
        ByteBuffer b = ByteBuffer.allocate(20 + 4 * (basis.length + centroids.length) + salt.length);
        b.putInt(MAGIC)
                .putInt(model.hasKeySalt() ? SECRET_VERSION : SECRET_VERSION_V1)
                .putInt(p.dimension())
                .putInt(p.prefixDimension())
                .putInt(p.cells());
        for (float f : basis) {
            b.putFloat(f);
        }
        for (float f : centroids) {
            b.putFloat(f);
        }
        b.put(salt);
        Arrays.fill(salt, (byte) 0);
        return b.array();
    }

    private static EncryptionModel fromSecret(ModelMetadata meta, byte[] secret, int version) {
        ModelParameters p = meta.parameters();
        ByteBuffer b = ByteBuffer.wrap(secret);
        int saltLength = version == SECRET_VERSION ? KeyDerivation.MODEL_SALT_LENGTH : 0;
        int expected = 20 + 4 * (p.dimension() * p.dimension() + p.cells() * p.prefixDimension()) + saltLength;
        if (secret.length != expected
                || b.getInt() != MAGIC
                || b.getInt() != version
                || b.getInt() != p.dimension()
                || b.getInt() != p.prefixDimension()
                || b.getInt() != p.cells()) {
            throw new IllegalArgumentException("model '" + meta.id() + "': secret part does not match its parameters");
        }
        float[] basis = new float[p.dimension() * p.dimension()];
        float[] centroids = new float[p.cells() * p.prefixDimension()];
        for (int i = 0; i < basis.length; i++) {
            basis[i] = b.getFloat();
        }
        for (int i = 0; i < centroids.length; i++) {
            centroids[i] = b.getFloat();
        }
        byte[] salt = null;
        if (saltLength > 0) {
            salt = new byte[saltLength];
            b.get(salt);
        }
        return new EncryptionModel(
                        meta.id(),
                        p,
                        meta.created(),
                        meta.betaScale(),
                        meta.sampleCount(),
                        basis,
                        centroids,
                        salt,
                        meta.residualNorm(),
                        meta.cellJitter(),
                        meta.upgradedAtEpoch(),
                        meta.prefixNorm())
                .withCalibration(meta.calibration());
    }

    private static String write(String format, ModelMetadata m, String sealedB64) {
        ModelParameters p = m.parameters();
        StringWriter w = new StringWriter();
        try (JsonGenerator g = JSON.createGenerator(w)) {
            g.writeStartObject();
            g.writeStringField("format", format);
            g.writeStringField("id", m.id());
            g.writeNumberField("dimension", p.dimension());
            g.writeStringField("space", p.space().wireName());
            g.writeNumberField("prefix_dimension", p.prefixDimension());
            g.writeNumberField("cells", p.cells());
            g.writeNumberField("beta", p.beta());
            g.writeNumberField("epoch", p.epoch());
            if (p.firstEpoch() > 1) {
                g.writeNumberField("first_epoch", p.firstEpoch());
            }
            g.writeStringField("created", m.created().toString());
            g.writeNumberField("beta_scale", m.betaScale());
            g.writeNumberField("absolute_beta", m.absoluteBeta());
            g.writeNumberField("sample_count", m.sampleCount());
            if (m.residualNorm() > 0) {
                g.writeNumberField("residual_norm", m.residualNorm());
            }
            if (m.cellJitter() > 0) {
                g.writeNumberField("cell_jitter", m.cellJitter());
            }
            if (m.upgradedAtEpoch() > 0) {
                g.writeNumberField("upgraded_at_epoch", m.upgradedAtEpoch());
            }
            g.writeStringField(PREFIX_LAYOUT, m.prefixLayout().wireName());
            if (m.prefixNorm() > 0) {
                g.writeNumberField(PREFIX_NORM, m.prefixNorm());
            }
            if (m.calibration() != null) {
                writeCalibration(g, m.calibration());
            }
            if (sealedB64 != null) {
                g.writeObjectFieldStart("secret");
                g.writeStringField("alg", ALG);
                g.writeStringField("key", KeyDerivation.MODEL_SEAL);
                g.writeStringField("data", sealedB64);
                g.writeEndObject();
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return w.toString();
    }

    private record Parsed(String format, ModelMetadata meta, String sealed) {}

    private static Parsed parse(String json) {
        String format = null;
        String id = null;
        String space = null;
        String created = null;
        String sealed = null;
        String alg = null;
        Integer dimension = null;
        Integer prefix = null;
        Integer cells = null;
        Integer epoch = null;
        int firstEpoch = 1;
        Integer samples = null;
        Double beta = null;
        Double betaScale = null;
        double residualNorm = 0;
        double cellJitter = 0;
        int upgradedAtEpoch = 0;
        double prefixNorm = 0;
        WindowCalibration calibration = null;
        try (JsonParser parser = JSON.createParser(json)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                throw new IllegalArgumentException("model JSON must be an object");
            }
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                String name = parser.currentName();
                JsonToken t = parser.nextToken();
                switch (name) {
                    case "format" -> format = text(parser, t, name);
                    case "id" -> id = text(parser, t, name);
                    case "space" -> space = text(parser, t, name);
                    case "created" -> created = text(parser, t, name);
                    case "dimension" -> dimension = integer(parser, t, name);
                    case "prefix_dimension" -> prefix = integer(parser, t, name);
                    case "cells" -> cells = integer(parser, t, name);
                    case "epoch" -> epoch = integer(parser, t, name);
                    case "first_epoch" -> firstEpoch = integer(parser, t, name);
                    case "sample_count" -> samples = integer(parser, t, name);
                    case "beta" -> beta = number(parser, t, name);
                    case "beta_scale" -> betaScale = number(parser, t, name);
                    case "residual_norm" -> residualNorm = number(parser, t, name);
                    case "cell_jitter" -> cellJitter = number(parser, t, name);
                    case "upgraded_at_epoch" -> upgradedAtEpoch = integer(parser, t, name);
                    case PREFIX_NORM -> prefixNorm = number(parser, t, name);
                    case CALIBRATION -> calibration = readCalibration(parser, t);
                    case "secret" -> {
                        if (t != JsonToken.START_OBJECT) {
                            throw new IllegalArgumentException("model JSON: secret must be an object");
                        }
                        while (parser.nextToken() == JsonToken.FIELD_NAME) {
                            String s = parser.currentName();
                            JsonToken st = parser.nextToken();
                            switch (s) {
                                case "alg" -> alg = text(parser, st, "secret.alg");
                                case "data" -> sealed = text(parser, st, "secret.data");
                                default -> parser.skipChildren();
                            }
                        }
                    }
                    default -> parser.skipChildren(); // e.g. absolute_beta, prefix_layout (derived), future fields
                }
            }
        } catch (IOException e) {
            throw new IllegalArgumentException(
                    "model JSON is malformed: "
                            + (e instanceof com.fasterxml.jackson.core.JsonProcessingException jpe
                                    ? jpe.getOriginalMessage()
                                    : e.getMessage()),
                    e);
        }
        if (!FORMAT.equals(format)
                && !FORMAT_V3.equals(format)
                && !FORMAT_V2.equals(format)
                && !FORMAT_V1.equals(format)) {
            throw new IllegalArgumentException("model JSON format must be '" + FORMAT + "' (or '" + FORMAT_V3 + "', '"
                    + FORMAT_V2 + "', '" + FORMAT_V1 + "'), got " + (format == null ? "none" : "'" + format + "'"));
        }
        require(id, "id");
        require(dimension, "dimension");
        require(space, "space");
        require(prefix, "prefix_dimension");
        require(cells, "cells");
        require(beta, "beta");
        require(epoch, "epoch");
        require(created, "created");
        require(betaScale, "beta_scale");
        require(samples, "sample_count");
        if (calibration == null ? FORMAT_V3.equals(format) : !FORMAT_V3.equals(format) && !FORMAT.equals(format)) {
            throw new IllegalArgumentException("model JSON: " + CALIBRATION + " is required in " + FORMAT_V3
                    + ", optional in " + FORMAT + " and absent before " + FORMAT_V3);
        }
        if (!(prefixNorm >= 0) || Double.isInfinite(prefixNorm) || (prefixNorm > 0) != FORMAT.equals(format)) {
            throw new IllegalArgumentException(
                    "model JSON: " + PREFIX_NORM + " must be a finite number > 0, required in " + FORMAT
                            + " and absent before it, got " + prefixNorm);
        }
        if (sealed != null && !ALG.equals(alg)) {
            throw new IllegalArgumentException("model JSON: secret.alg must be " + ALG + ", got " + alg);
        }
        Instant createdAt;
        try {
            createdAt = Instant.parse(created);
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException("model JSON: created is not an ISO-8601 instant: " + created);
        }
        ModelParameters params =
                new ModelParameters(dimension, Space.parse(space), prefix, cells, beta, epoch, firstEpoch);
        if (!(residualNorm >= 0) || Double.isInfinite(residualNorm) || (residualNorm > 0 && FORMAT_V1.equals(format))) {
            throw new IllegalArgumentException("model JSON: residual_norm must be a finite number > 0, and only in "
                    + FORMAT_V2 + " or later, got " + residualNorm);
        }
        if (!(cellJitter >= 0) || Double.isInfinite(cellJitter) || (cellJitter > 0 && FORMAT_V1.equals(format))) {
            throw new IllegalArgumentException("model JSON: cell_jitter must be a finite number >= 0, and only in "
                    + FORMAT_V2 + " or later, got " + cellJitter);
        }
        if (upgradedAtEpoch < 0
                || upgradedAtEpoch > epoch
                || (upgradedAtEpoch > 0 && (residualNorm == 0 || FORMAT_V1.equals(format)))) {
            throw new IllegalArgumentException("model JSON: upgraded_at_epoch must be in [1, epoch], and only in "
                    + FORMAT_V2 + " or later with residual_norm, got " + upgradedAtEpoch);
        }
        return new Parsed(
                format,
                new ModelMetadata(
                        EncryptionModel.checkId(id),
                        params,
                        createdAt,
                        betaScale,
                        samples,
                        residualNorm,
                        cellJitter,
                        upgradedAtEpoch,
                        prefixNorm,
                        calibration),
                sealed);
    }

    static final String CALIBRATION = "calibration";
    static final String PREFIX_NORM = "prefix_norm";
    static final String PREFIX_LAYOUT = "prefix_layout";

    /** The AAD part of a window calibration: every field, in a fixed order. */
    private static String calibrationAad(WindowCalibration c) {
        StringBuilder b = new StringBuilder()
                .append(c.target())
                .append(',')
                .append(c.window())
                .append(',')
                .append(c.referenceSize())
                .append(',')
                .append(c.queries())
                .append(',')
                .append(c.growth());
        for (WindowCalibration.Point p : c.curve()) {
            b.append(';').append(p.window()).append(':').append(p.recall());
        }
        return b.toString();
    }

    /**
     * {@code "calibration":{"target_recall":0.95,"k":60,"reference_size":4500,"queries":500,"growth":0.52,
     * "curve":[{"k":10,"recall":0.71},…]}} (format v3).
     */
    private static void writeCalibration(JsonGenerator g, WindowCalibration c) throws IOException {
        g.writeObjectFieldStart(CALIBRATION);
        g.writeNumberField("target_recall", c.target());
        g.writeNumberField("k", c.window());
        g.writeNumberField("reference_size", c.referenceSize());
        g.writeNumberField("queries", c.queries());
        g.writeNumberField("growth", c.growth());
        g.writeArrayFieldStart("curve");
        for (WindowCalibration.Point p : c.curve()) {
            g.writeStartObject();
            g.writeNumberField("k", p.window());
            g.writeNumberField("recall", p.recall());
            g.writeEndObject();
        }
        g.writeEndArray();
        g.writeEndObject();
    }

    private static WindowCalibration readCalibration(JsonParser parser, JsonToken t) throws IOException {
        if (t != JsonToken.START_OBJECT) {
            throw new IllegalArgumentException("model JSON: " + CALIBRATION + " must be an object");
        }
        Double target = null;
        Integer window = null;
        Integer reference = null;
        Integer queries = null;
        Double growth = null;
        List<WindowCalibration.Point> curve = null;
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
            String name = parser.currentName();
            JsonToken v = parser.nextToken();
            String path = CALIBRATION + "." + name;
            switch (name) {
                case "target_recall" -> target = number(parser, v, path);
                case "k" -> window = integer(parser, v, path);
                case "reference_size" -> reference = integer(parser, v, path);
                case "queries" -> queries = integer(parser, v, path);
                case "growth" -> growth = number(parser, v, path);
                case "curve" -> {
                    if (v != JsonToken.START_ARRAY) {
                        throw new IllegalArgumentException("model JSON: " + path + " must be an array");
                    }
                    curve = new ArrayList<>();
                    while (parser.nextToken() == JsonToken.START_OBJECT) {
                        Integer k = null;
                        Double recall = null;
                        while (parser.nextToken() == JsonToken.FIELD_NAME) {
                            String pn = parser.currentName();
                            JsonToken pv = parser.nextToken();
                            switch (pn) {
                                case "k" -> k = integer(parser, pv, path + ".k");
                                case "recall" -> recall = number(parser, pv, path + ".recall");
                                default -> parser.skipChildren();
                            }
                        }
                        require(k, path + ".k");
                        require(recall, path + ".recall");
                        curve.add(new WindowCalibration.Point(k, recall));
                    }
                    if (parser.currentToken() != JsonToken.END_ARRAY) {
                        throw new IllegalArgumentException("model JSON: " + path + " must hold objects");
                    }
                }
                default -> parser.skipChildren();
            }
        }
        require(target, CALIBRATION + ".target_recall");
        require(window, CALIBRATION + ".k");
        require(reference, CALIBRATION + ".reference_size");
        require(queries, CALIBRATION + ".queries");
        require(growth, CALIBRATION + ".growth");
        require(curve, CALIBRATION + ".curve");
        try {
            return new WindowCalibration(target, window, reference, queries, growth, curve);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("model JSON: " + e.getMessage(), e);
        }
    }

    private static void require(Object v, String name) {
        if (v == null) {
            throw new IllegalArgumentException("model JSON: missing field " + name);
        }
    }

    private static String text(JsonParser p, JsonToken t, String name) throws IOException {
        if (t != JsonToken.VALUE_STRING) {
            throw new IllegalArgumentException("model JSON: " + name + " must be a string");
        }
        return p.getText();
    }

    private static int integer(JsonParser p, JsonToken t, String name) throws IOException {
        if (t != JsonToken.VALUE_NUMBER_INT) {
            throw new IllegalArgumentException("model JSON: " + name + " must be an integer");
        }
        return p.getIntValue();
    }

    private static double number(JsonParser p, JsonToken t, String name) throws IOException {
        if (t != JsonToken.VALUE_NUMBER_INT && t != JsonToken.VALUE_NUMBER_FLOAT) {
            throw new IllegalArgumentException("model JSON: " + name + " must be a number");
        }
        return p.getDoubleValue();
    }
}

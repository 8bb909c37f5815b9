package org.encryptedknn.transform;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.encryptedknn.keys.KeyDerivation;
import org.encryptedknn.keys.RecordSeal;
import org.encryptedknn.keys.SecretGuard;
import org.encryptedknn.model.EncryptionModel;
import org.encryptedknn.model.ModelFitter;
import org.encryptedknn.model.ModelParameters;
import org.encryptedknn.model.PrefixLayout;
import org.encryptedknn.model.Space;
import org.encryptedknn.prefix.PrefixNonces;
import org.encryptedknn.prefix.ScaleAndPerturb;

/**
 * The key holder's transform of one model at one epoch (docs/design.md §2):
 *
 * <pre>
 *   x  (normalized when cosine)      y = V x = [u ‖ r],  u ∈ R^d_pub, r ∈ R^(d−d_pub)
 *   c  = nearest centroid of u + ε   (computed as nearest R·centroid of R u + ε; R is orthogonal); ε the keyed
 *                                    per-epoch cell jitter drawn from the record's nonce (0 for models without it)
 *   p  = SAP_DB(R [u; t′])           noise radius 3sβ/8, nonce-derived; t′ = √(B² − ‖u‖²) for the augmented
 *                                    prefix layout (R of dimension d_pub + 1, every [u; t′] of norm B); the plain
 *                                    layout of models fitted before has p = SAP_DB(R u), R of dimension d_pub
 *   z  = H_c [r; t]                  H_c Haar-random orthogonal of dimension d − d_pub + 1, per (model, epoch,
 *                                    cell); t = √(T² − ‖r‖²) ≥ 0, so every stored z has the model's norm T
 * </pre>
 *
 * Query: p_q = SAP_Q(R [u_q; a]) (radius sβ/8; a the residual prior of {@link PrefixLayout#queryCoordinate}, 0 for
 * the plain layout, only in the stage-1 prefix); keyed residual queries H_c [r_q; 0] per cell; exact score
 * ⟨x_q, x_i⟩ = ⟨R [u_q; 0], R [u_i; t′]⟩ + ⟨H_c [r_q; 0], z_i⟩ (each padding coordinate meets the query's 0). The
 * prefix width (d_pub, or d_pub + 1 augmented) is the model's {@link EncryptionModel#prefixWidth()}; the cell is
 * chosen on R [u; 0], before t′ is added, so it is the cell of the plain prefix whatever the layout.
 * A model without residual padding ({@link EncryptionModel#hasResidualPadding()} false, fitted before it) keeps
 * z = H_c r with H_c of dimension d − d_pub, whose norm ‖r‖ re-identifies a record (docs/security.md); so do the
 * epochs of format v1 of a model upgraded by {@code _rotate} ({@link EncryptionModel#epochIsV1}), whose keys are also
 * derived without the key salt. {@link #rekey} moves such a record to a padded epoch: t = √(T² − ‖z‖²).
 *
 * <p>Implementation: R·[V_u; 0] (width×d), V_r (dr×d) and each H_c are precomputed (stored transposed, float): a
 * document costs one width×d, one dr×d and one (dr+1)×dr matrix–vector product; the last row of H_cᵀ is H_c's
 * padding column, added t times. A query computes r_q = V_r x_q once and then only the (dr+1)×dr product per cell,
 * which is what its window's tens of cells cost (docs/performance.md). H_c is derived lazily on first use of a cell
 * (QR of a (dr+1)² Gaussian matrix, O(dr³)) or all at once by {@link #warmUp}, and cached for the life of the
 * transform: 4·(dr+1)² bytes per cell (334 KB at d=384, d_pub=96; 1.33 MB at d=768, d_pub=192).
 * Keep one transform per (model, epoch) and share it; it is thread-safe. {@link #close()} zeroes every secret it
 * holds, after the calls in progress (a {@link SecretGuard}).
 */
public final class VectorTransform implements AutoCloseable {

    private final EncryptionModel model;
    private final int d;
    private final int dp;
    private final int width; // the stored prefix p: dp, plus the augmentation coordinate t′
    private final double prefixNorm; // B (0: plain prefix)
    private final int dr;
    private final int residualLength; // stored z: dr, plus the padding coordinate
    private final double residualNorm; // T (0: no padding)
    private final int cells;
    private final int epoch;
    private final Space space;
    private final double[] rotation; // R, width×width row-major
    private final float[][] prefixT; // (R [V_u; 0])ᵀ: d rows of width
    private final float[] augmentColumn; // R's last column, added t′ times (augmented layout); null for plain
    private final float[] rotatedCentroids; // C×width: R [centroid; 0]
    private final float[][] centroidsT; // width rows of C (R·centroids, transposed)
    private final float[] centroidNorms; // ‖R·centroid‖²
    private final ScaleAndPerturb sap;
    private final PrefixNonces nonces;
    private final ScaleAndPerturb cellJitter; // the keyed ball ε is drawn from; null: nearest centroid, every epoch
    private final byte[][] cellSeeds;
    private final float[][] residualBasisT; // V_rᵀ: d rows of dr
    private final AtomicReferenceArray<float[][]> cellMatrices; // H_cᵀ: residualLength rows of residualLength
    private final Object[] cellLocks;
    private final ThreadLocal<Scratch> scratch;
    private final RecordSeal seal; // s of the sealed records of this epoch
    private final SecretGuard guard;

    /** The transform of the model's current epoch. */
    public VectorTransform(EncryptionModel model, KeyDerivation keys) {
        this(model, keys, model.epoch());
    }

    /** The transform of the model at {@code epoch} (e.g. the old epoch during re-keying). */
    public VectorTransform(EncryptionModel model, KeyDerivation keys, int epoch) {
        this.model = Objects.requireNonNull(model, "model");
        Objects.requireNonNull(keys, "keys");
        if (epoch < 1) {
            throw new IllegalArgumentException("epoch must be >= 1, got " + epoch);
        }
        ModelParameters p = model.parameters();
        this.d = p.dimension();
        this.dp = p.prefixDimension();
        this.width = model.prefixWidth();
        this.prefixNorm = model.prefixNorm();
        this.dr = d - dp;
        this.residualLength = model.residualLengthAt(epoch);
        this.residualNorm = model.residualNormAt(epoch);
        this.cells = p.cells();
        this.epoch = epoch;
        this.space = p.space();
        String id = model.id();
        byte[] salt = model.keySaltAt(epoch); // null for an epoch of format v1: v1 derivation
        this.guard = new SecretGuard("transform of model '" + id + "' epoch " + epoch);

        byte[] rotationSeed = keys.prefixRotationSeed(id, salt, epoch);
        this.rotation = HaarOrthogonal.derive(rotationSeed, width);
        Arrays.fill(rotationSeed, (byte) 0);

        float[] basis = model.basis(); // a copy (the model is in another package): zeroed below
        this.prefixT = new float[d][width];
        double[] acc = new double[d];
        for (int i = 0; i < width; i++) {
            Arrays.fill(acc, 0);
            for (int k = 0; k < dp; k++) {
                double r = rotation[i * width + k];
                int base = k * d;
                for (int j = 0; j < d; j++) {
                    acc[j] += r * basis[base + j];
                }
            }
            for (int j = 0; j < d; j++) {
                prefixT[j][i] = (float) acc[j];
            }
        }
        this.residualBasisT = new float[d][dr];
        for (int k = 0; k < dr; k++) {
            int base = (dp + k) * d;
            for (int j = 0; j < d; j++) {
                residualBasisT[j][k] = basis[base + j];
            }
        }
        Arrays.fill(basis, 0f);
        if (width > dp) {
            this.augmentColumn = new float[width];
            for (int i = 0; i < width; i++) {
                augmentColumn[i] = (float) rotation[i * width + dp];
            }
        } else {
            this.augmentColumn = null;
        }
        float[] centroids = model.centroids(); // a copy: zeroed below
        this.rotatedCentroids = new float[cells * width];
        for (int c = 0; c < cells; c++) {
            for (int i = 0; i < width; i++) {
                double s = 0;
                for (int k = 0; k < dp; k++) {
                    s += rotation[i * width + k] * centroids[c * dp + k];
                }
                rotatedCentroids[c * width + i] = (float) s;
            }
        }
        Arrays.fill(centroids, 0f);
        this.centroidsT = new float[width][cells];
        this.centroidNorms = new float[cells];
        for (int c = 0; c < cells; c++) {
            double nn = 0;
            for (int i = 0; i < width; i++) {
                float v = rotatedCentroids[c * width + i];
                centroidsT[i][c] = v;
                nn += (double) v * v;
            }
            centroidNorms[c] = (float) nn;
        }
        this.sap = ScaleAndPerturb.derive(keys, id, salt, epoch, model.absoluteBeta(), width);
        this.nonces = PrefixNonces.derive(keys, id, salt);
        this.cellJitter = model.hasEpochCells() ? cellJitter(keys, id, salt, epoch, model.absoluteCellJitter()) : null;
        this.cellSeeds = new byte[cells][];
        for (int c = 0; c < cells; c++) {
            cellSeeds[c] = keys.cellKeySeed(id, salt, epoch, c);
        }
        byte[] sealKey = keys.sealedRecordKey(id, salt, epoch);
        this.seal = new RecordSeal(sealKey);
        Arrays.fill(sealKey, (byte) 0);
        if (salt != null) {
            Arrays.fill(salt, (byte) 0);
        }
        this.cellMatrices = new AtomicReferenceArray<>(cells);
        this.cellLocks = new Object[cells];
        for (int c = 0; c < cells; c++) {
            cellLocks[c] = new Object();
        }
        this.scratch = ThreadLocal.withInitial(() -> new Scratch(d, width, dr, cells));
    }

    /**
     * The per-epoch cell jitter (docs/design.md §2 "Cells"): SAP's keyed noise stream (AES-256-CTR, the record's nonce
     * as IV, uniform in a ball) under the epoch's own cell-jitter key, with radius = the model's absolute jitter
     * (SAP's document radius is 3β/8 at scale 1), in the rotated prefix's width (for the augmented layout the
     * coordinate along R's last column moves every centroid's distance alike).
     */
    private ScaleAndPerturb cellJitter(KeyDerivation keys, String id, byte[] salt, int epoch, double radius) {
        byte[] key = keys.cellJitterKey(id, salt, epoch);
        try {
            return new ScaleAndPerturb(key, 1, radius * 8 / 3, width);
        } finally {
            Arrays.fill(key, (byte) 0);
        }
    }

    public EncryptionModel model() {
        return model;
    }

    public int epoch() {
        return epoch;
    }

    public ScaleAndPerturb sap() {
        return sap;
    }

    public PrefixNonces nonces() {
        return nonces;
    }

    // ---------------------------------------------------------------- documents

    /** Encrypts a document vector with the nonce derived from (document id, field, epoch, vector). */
    public EncryptedVector encryptDocument(float[] x, String docId, String field) {
        return encryptDocument(x, documentNonce(x, docId, field));
    }

    /** Encrypts a document vector into a record of {@code form}, the nonce derived as for {@link #encryptDocument}. */
    public EncryptedVector encryptDocument(float[] x, String docId, String field, RecordForm form) {
        return encryptDocument(x, documentNonce(x, docId, field), form);
    }

    /**
     * The document nonce PRF(doc id ‖ field ‖ epoch ‖ x) of {@link PrefixNonces#forDocument}, over x as encrypted
     * (normalized when cosine): the same vector encrypts identically, a changed one gets fresh noise.
     */
    public byte[] documentNonce(float[] x, String docId, String field) {
        float[] xv = prepare(x, new float[d]);
        try {
            return nonces.forDocument(docId, field, epoch, xv);
        } finally {
            Arrays.fill(xv, 0f);
        }
    }

    /** Encrypts a document vector with an explicit 16-byte SAP nonce (see {@link PrefixNonces}). */
    public EncryptedVector encryptDocument(float[] x, byte[] nonce) {
        return guard.use(() -> encryptDocumentOpen(x, nonce));
    }

    /**
     * Encrypts a document vector into a record of {@code form} with an explicit 16-byte nonce, which must never serve
     * another vector at this epoch: it seeds the SAP noise, and its first 12 bytes are a sealed record's AES-GCM IV
     * (a repeated IV under one key gives away the XOR of the two vectors and the key's authentication). The document
     * nonce ({@link #documentNonce}) and {@link PrefixNonces#random()} are such nonces.
     */
    public EncryptedVector encryptDocument(float[] x, byte[] nonce, RecordForm form) {
        return form == RecordForm.SEALED ? guard.use(() -> sealDocumentOpen(x, nonce)) : encryptDocument(x, nonce);
    }

    /**
     * The sealed record of x: p as for a keyed record, and s = AES-256-GCM(x as float32) under the epoch's
     * sealed-record key, the first 12 bytes of the nonce as IV and the record's n and e as associated data (an s moved
     * to another record, or relabelled with another epoch, does not open). p is left out of it: a swapped p moves a
     * record in the graph, which the storage tier controls anyway, but never changes its score; and so the key holder
     * scores a hit from n, e and s alone. No cell is chosen and no cell key is used.
     */
    private EncryptedVector sealDocumentOpen(float[] x, byte[] nonce) {
        Scratch s = scratch.get();
        float[] xv = prepare(x, s.x);
        float[] p = prefixCiphertext(rotatedPrefix(xv, s), nonce);
        byte[] plain = new byte[d * Float.BYTES];
        ByteBuffer.wrap(plain).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().put(xv);
        Arrays.fill(xv, 0f);
        byte[] sealed = seal.seal(nonce, sealedAad(nonce, epoch), plain);
        Arrays.fill(plain, (byte) 0);
        return EncryptedVector.sealed(p, nonce.clone(), sealed, epoch);
    }

    /** The associated data of a sealed record: n ‖ e (big-endian). */
    private static byte[] sealedAad(byte[] nonce, int epoch) {
        return ByteBuffer.allocate(nonce.length + Integer.BYTES)
                .put(nonce)
                .putInt(epoch)
                .array();
    }

    /**
     * Key holder: opens a sealed record into {@code out} (d values: the vector as encrypted, normalized when cosine).
     * A record whose tag does not verify — altered on disk or in flight, its parts mixed with another record's, or
     * sealed under other keys — is refused, never scored.
     */
    private void openSealed(EncryptedVector v, float[] out) {
        byte[] plain = scratch.get().sealedPlain;
        if (!seal.open(v.nonce(), sealedAad(v.nonce(), v.epoch()), v.sealed(), plain)) {
            throw new IllegalArgumentException("sealed record of model '" + model.id() + "' epoch " + epoch
                    + " does not open: altered, or not sealed by this model's keys");
        }
        ByteBuffer.wrap(plain).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
        Arrays.fill(plain, (byte) 0);
    }

    /** R [V_u x; 0], the rotated plain prefix of a prepared vector, in the thread's scratch. */
    private float[] rotatedPrefix(float[] xv, Scratch s) {
        Arrays.fill(s.u, 0f);
        axpy(xv, prefixT, s.u);
        return s.u;
    }

    /** p = SAP_DB of the rotated prefix {@code u} (augmented first, for that layout); zeroes {@code u}. */
    private float[] prefixCiphertext(float[] u, byte[] nonce) {
        augment(u);
        float[] p = sap.encryptDocument(u, nonce, new float[width]);
        Arrays.fill(u, 0f);
        return p;
    }

    private EncryptedVector encryptDocumentOpen(float[] x, byte[] nonce) {
        Scratch s = scratch.get();
        float[] xv = prepare(x, s.x);
        float[] u = rotatedPrefix(xv, s);
        int cell = recordCell(u, nonce);
        float[] p = prefixCiphertext(u, nonce);
        float[] r = s.r;
        Arrays.fill(r, 0f);
        axpy(xv, residualBasisT, r);
        float[][] h = cellMatrix(cell);
        float[] z = new float[residualLength];
        axpy(r, h, z); // H_c [r; 0]: the first dr rows of H_cᵀ
        pad(z, h);
        Arrays.fill(r, 0f);
        return new EncryptedVector(p, nonce.clone(), cell, z, epoch);
    }

    /**
     * Encrypts a batch of document vectors (nonces[i] for xs[i]). Same result as {@link #encryptDocument(float[], byte[])}
     * one by one, but groups the vectors by cell and streams each cell matrix once per four vectors, which is
     * what reaches the throughput target when the cell matrices do not fit in cache.
     */
    public EncryptedVector[] encryptDocuments(float[][] xs, byte[][] nonces) {
        return guard.use(() -> encryptDocumentsOpen(xs, nonces));
    }

    private EncryptedVector[] encryptDocumentsOpen(float[][] xs, byte[][] nonces) {
        Objects.requireNonNull(xs, "vectors");
        Objects.requireNonNull(nonces, "nonces");
        if (xs.length != nonces.length) {
            throw new IllegalArgumentException(xs.length + " vectors but " + nonces.length + " nonces");
        }
        int n = xs.length;
        float[][] prepared = new float[n][];
        float[][] prefixes = new float[n][];
        int[] all = new int[n];
        for (int i = 0; i < n; i++) {
            prepared[i] = prepare(xs[i], new float[d]);
            prefixes[i] = new float[width];
            all[i] = i;
        }
        axpyMany(prepared, all, n, prefixT, prefixes);
        float[][] rs = new float[n][dr];
        axpyMany(prepared, all, n, residualBasisT, rs);
        int[] cellOf = new int[n];
        int[] counts = new int[cells + 1];
        for (int i = 0; i < n; i++) {
            cellOf[i] = recordCell(prefixes[i], nonces[i]);
            augment(prefixes[i]);
            counts[cellOf[i] + 1]++;
        }
        for (int c = 0; c < cells; c++) {
            counts[c + 1] += counts[c];
        }
        int[] byCell = new int[n];
        int[] fill = Arrays.copyOf(counts, cells);
        for (int i = 0; i < n; i++) {
            byCell[fill[cellOf[i]]++] = i;
        }
        float[][] residuals = new float[n][];
        for (int i = 0; i < n; i++) {
            residuals[i] = new float[residualLength];
        }
        int[] group = new int[n];
        for (int c = 0; c < cells; c++) {
            int count = counts[c + 1] - counts[c];
            if (count == 0) {
                continue;
            }
            System.arraycopy(byCell, counts[c], group, 0, count);
            float[][] h = cellMatrix(c);
            axpyMany(rs, group, count, h, residuals);
            for (int k = 0; k < count; k++) {
                pad(residuals[group[k]], h);
            }
        }
        EncryptedVector[] out = new EncryptedVector[n];
        for (int i = 0; i < n; i++) {
            float[] p = sap.encryptDocument(prefixes[i], nonces[i], new float[width]);
            out[i] = new EncryptedVector(p, nonces[i].clone(), cellOf[i], residuals[i], epoch);
            Arrays.fill(prepared[i], 0f);
            Arrays.fill(prefixes[i], 0f);
            Arrays.fill(rs[i], 0f);
        }
        return out;
    }

    /**
     * The cell whose centroid is nearest a plaintext vector's prefix: a record's cell for a model without cell jitter,
     * and the first cell a query probes.
     */
    public int cellOf(float[] x) {
        return guard.use(() -> {
            Scratch s = scratch.get();
            float[] xv = prepare(x, s.x);
            Arrays.fill(s.u, 0f);
            axpy(xv, prefixT, s.u);
            return nearestCell(s.u);
        });
    }

    /** The cell of the record of {@code x} with {@code nonce} at this epoch (with the cell jitter, if any). */
    public int cellOf(float[] x, byte[] nonce) {
        return guard.use(() -> {
            Scratch s = scratch.get();
            float[] xv = prepare(x, s.x);
            Arrays.fill(s.u, 0f);
            axpy(xv, prefixT, s.u);
            return recordCell(s.u, nonce);
        });
    }

    /**
     * Key holder: R u_i, the exact rotated prefix of a stored record (SAP decryption); R [u_i; t′] of norm B for the
     * augmented layout.
     */
    public float[] decryptPrefix(EncryptedVector v) {
        checkRecord(v);
        return sap.decrypt(v.prefix(), v.nonce(), false);
    }

    /**
     * Key holder: the document vector of a record, x = (R [V_u; 0])ᵀ (R [u; t′]) + V_rᵀ [H_cᵀ z]_{0..dr-1} (the prefix
     * part from the SAP-decrypted p, the residual part from z under the record's cell key; both padding coordinates,
     * t′ and t, are dropped). For
     * a cosine model this is the vector as encrypted, i.e. normalized. For the gateway's answers to callers that ask
     * for the vector field ({@code _source}); never for anything a data node sees.
     */
    public float[] decryptDocument(EncryptedVector v) {
        return guard.use(() -> decryptDocumentOpen(v));
    }

    private float[] decryptDocumentOpen(EncryptedVector v) {
        checkRecord(v);
        if (v.isSealed()) {
            float[] x = new float[d];
            openSealed(v, x);
            return x;
        }
        double[] ru = sap.decryptToDouble(v.prefix(), v.nonce(), false);
        float[][] h = cellMatrix(v.cell());
        float[] z = v.keyedResidual();
        double[] r = new double[dr];
        for (int k = 0; k < dr; k++) {
            r[k] = dot(h[k], z);
        }
        float[] x = new float[d];
        for (int j = 0; j < d; j++) {
            double s = 0;
            float[] row = prefixT[j];
            for (int i = 0; i < width; i++) {
                s += row[i] * ru[i];
            }
            float[] basisRow = residualBasisT[j];
            for (int k = 0; k < dr; k++) {
                s += basisRow[k] * r[k];
            }
            x[j] = (float) s;
        }
        Arrays.fill(ru, 0);
        Arrays.fill(r, 0);
        return x;
    }

    // ---------------------------------------------------------------- queries

    /** Encrypts a query with the deterministic query nonce (a repeated query encrypts identically). */
    public EncryptedQuery encryptQuery(float[] x) {
        float[] xv = prepare(x, new float[d]);
        return encryptPrepared(xv, nonces.forQuery(xv, epoch));
    }

    /** Encrypts a query with an explicit 16-byte nonce (e.g. {@link PrefixNonces#random()}). */
    public EncryptedQuery encryptQuery(float[] x, byte[] nonce) {
        return encryptPrepared(prepare(x, new float[d]), nonce);
    }

    private EncryptedQuery encryptPrepared(float[] xv, byte[] nonce) {
        return guard.use(() -> {
            float[] u = new float[width]; // R [u_q; 0]: what the exact prefix term and the probed cells use
            axpy(xv, prefixT, u);
            float[] stageOne = u;
            if (augmentColumn != null) { // R [u_q; a]: stage 1 adds the residual prior a·t′ (PrefixLayout)
                double a = PrefixLayout.queryCoordinate(prefixNorm, dot(u, u), space == Space.COSINE);
                stageOne = u.clone();
                for (int i = 0; i < width; i++) {
                    stageOne[i] += (float) (a * augmentColumn[i]);
                }
            }
            float[] p = sap.encryptQuery(stageOne, nonce);
            if (stageOne != u) {
                Arrays.fill(stageOne, 0f);
            }
            float[] r = new float[dr]; // r_q = V_r x_q, once: each cell's keyed query starts from it
            axpy(xv, residualBasisT, r);
            return new EncryptedQuery(model.id(), epoch, p, nonce.clone(), u, r, xv); // x_q scores sealed records
        });
    }

    /**
     * The residual query a keyed rescore sends for {@code cell} (design.md §5.4): s²·H_c [r_q; 0]. The rescore's prefix
     * is the stage-1 prefix p_q itself, so the data node's ⟨p_q, p_i⟩ + ⟨s² H_c r_q, z_i⟩ is s² times the approximate
     * score (the same order), and no request carries both p_q and p_q / s², whose ratio would be the SAP scale s.
     */
    public float[] rescoreResidualQuery(EncryptedQuery q, int cell) {
        float[] z = keyedResidualQuery(q, cell);
        double s2 = sap.scale() * sap.scale();
        for (int i = 0; i < z.length; i++) {
            z[i] = (float) (z[i] * s2);
        }
        return z;
    }

    /** A residual term the data node computed from {@link #rescoreResidualQuery}, back to ⟨H_c r_q, z⟩. */
    public double fromRescoreScale(double term) {
        return term / (sap.scale() * sap.scale());
    }

    /** H_c [r_q; 0]: the query residual under the key of {@code cell}, to score records of that cell. */
    public float[] keyedResidualQuery(EncryptedQuery q, int cell) {
        checkQuery(q);
        checkCell(cell);
        return guard.use(() -> {
            float[] z = new float[residualLength];
            axpyEightRows(q.residualRef(), cellMatrix(cell), z); // the first dr rows: the padding coordinate stays 0
            return z;
        });
    }

    /** The {@code count} cells whose centroids are nearest the query prefix, nearest first. */
    public int[] probeCells(EncryptedQuery q, int count) {
        checkQuery(q);
        if (count < 1) {
            throw new IllegalArgumentException("probe cell count must be >= 1, got " + count);
        }
        int n = Math.min(count, cells);
        float[] u = q.rotatedPrefixRef();
        double[] dist = new double[cells];
        Integer[] order = new Integer[cells];
        guard.use(() -> {
            for (int c = 0; c < cells; c++) {
                dist[c] = dist2(u, rotatedCentroids, c * width);
                order[c] = c;
            }
            return null;
        });
        Arrays.sort(order, (a, b) -> Double.compare(dist[a], dist[b]));
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = order[i];
        }
        return out;
    }

    /** Exact prefix term ⟨u_q, u_i⟩ = ⟨R [u_q; 0], R [u_i; t′]⟩ (decrypts the record's prefix). */
    public double prefixScore(EncryptedQuery q, EncryptedVector v) {
        checkQuery(q);
        return dot(q.rotatedPrefixRef(), decryptPrefix(v));
    }

    /** Exact score ⟨x_q, x_i⟩ of a sealed record: opens s, one dot product (the record's whole score, no terms). */
    public double sealedScore(EncryptedQuery q, EncryptedVector v) {
        checkQuery(q);
        checkRecord(v);
        if (!v.isSealed()) {
            throw new IllegalArgumentException("record is keyed, not sealed");
        }
        return guard.use(() -> {
            float[] x = scratch.get().opened;
            openSealed(v, x);
            double score = dot(q.vectorRef(), x);
            Arrays.fill(x, 0f);
            return score;
        });
    }

    /** Exact residual term ⟨r_q, r_i⟩ = ⟨H_c [r_q; 0], z_i⟩. */
    public double residualScore(EncryptedQuery q, EncryptedVector v) {
        checkRecord(v);
        return dot(keyedResidualQuery(q, v.cell()), v.keyedResidual());
    }

    /** ⟨keyedQuery, z_i⟩ for a keyed residual query already computed for the record's cell. */
    public static double residualScore(float[] keyedResidualQuery, EncryptedVector v) {
        return dot(keyedResidualQuery, v.keyedResidual());
    }

    /** The plaintext similarity (cosine or inner product) of the query and the record, exactly. */
    public double score(EncryptedQuery q, EncryptedVector v) {
        return v.isSealed() ? sealedScore(q, v) : prefixScore(q, v) + residualScore(q, v);
    }

    /** Plaintext similarity of two vectors in a space (for ground truth and tests). */
    public static double similarity(float[] a, float[] b, Space space) {
        double ab = 0;
        double aa = 0;
        double bb = 0;
        for (int i = 0; i < a.length; i++) {
            ab += (double) a[i] * b[i];
            aa += (double) a[i] * a[i];
            bb += (double) b[i] * b[i];
        }
        return space == Space.COSINE ? ab / Math.sqrt(aa * bb) : ab;
    }

    // ---------------------------------------------------------------- re-keying

    /**
     * Re-keys a record written under {@code from} (same model, older epoch) to this epoch without the
     * original vector: p' = SAP'_DB(R' Rᵀ SAP⁻¹(p)) with {@code newNonce}, z' = H'_c' H_cᵀ z (the padding t carried
     * over). For the augmented prefix layout t′ is derived again from u = [Rᵀ SAP⁻¹(p)]_{0..d_pub-1}, as a fresh
     * encryption derives it, and the new cell from R' [u; 0]. With cell jitter the cell c' is drawn afresh from R' u and the new nonce (a new partition per epoch);
     * without it the cell is kept. From an unpadded epoch (format v1) to a padded one, z' = H'_c' [H_cᵀ z; t] with
     * t = √(T² − ‖z‖²), since ‖z‖ = ‖r‖: the record moves to the v2 layout without the plaintext.
     */
    public EncryptedVector rekey(VectorTransform from, EncryptedVector v, byte[] newNonce) {
        return guard.use(() -> from.guard.use(() -> rekeyOpen(from, v, newNonce)));
    }

    private EncryptedVector rekeyOpen(VectorTransform from, EncryptedVector v, byte[] newNonce) {
        Objects.requireNonNull(from, "from");
        if (!from.model.id().equals(model.id())
                || from.d != d
                || from.dp != dp
                || from.width != width
                || from.cells != cells) {
            throw new IllegalArgumentException(
                    "cannot re-key between different models ('" + from.model.id() + "' → '" + model.id() + "')");
        }
        from.checkRecord(v);
        if (v.isSealed()) { // a sealed record is sealed again: open under the old epoch's key, seal under this one's
            float[] x = new float[d];
            from.openSealed(v, x);
            try {
                return sealDocumentOpen(x, newNonce);
            } finally {
                Arrays.fill(x, 0f);
            }
        }
        double[] ru = from.sap.decryptToDouble(v.prefix(), v.nonce(), false);
        double[] u = new double[dp];
        for (int k = 0; k < dp; k++) { // u = [Rᵀ (R [u; t′])]_{0..dp-1}: t′ is dropped and derived again below
            double s = 0;
            for (int i = 0; i < width; i++) {
                s += from.rotation[i * width + k] * ru[i];
            }
            u[k] = s;
        }
        float[] ru2 = new float[width];
        for (int i = 0; i < width; i++) { // R' [u; 0]
            double s = 0;
            for (int k = 0; k < dp; k++) {
                s += rotation[i * width + k] * u[k];
            }
            ru2[i] = (float) s;
        }
        int cell = cellJitter == null ? v.cell() : recordCell(ru2, newNonce);
        augment(ru2);
        float[] p = sap.encryptDocument(ru2, newNonce, new float[width]);
        float[] z = v.keyedResidual();
        float[][] oldH = from.cellMatrix(v.cell());
        if (from.residualLength > residualLength) {
            throw new IllegalArgumentException("cannot re-key a padded record of epoch " + from.epoch
                    + " to the unpadded epoch " + epoch + " of model '" + model.id() + "'");
        }
        float[] t = new float[residualLength]; // H_cᵀ z = [r; t]
        for (int k = 0; k < from.residualLength; k++) {
            t[k] = (float) dot(oldH[k], z);
        }
        if (residualLength > from.residualLength) { // v1 → v2: the padding coordinate that gives ‖z'‖ = T
            t[dr] = (float) Math.sqrt(Math.max(0, residualNorm * residualNorm - dot(z, z)));
        }
        float[] z2 = new float[residualLength];
        axpy(t, cellMatrix(cell), z2); // H'_c [r; t]
        Arrays.fill(ru, 0);
        Arrays.fill(u, 0);
        Arrays.fill(t, 0f);
        Arrays.fill(ru2, 0f);
        return new EncryptedVector(p, newNonce.clone(), cell, z2, epoch);
    }

    /** Re-keys with the new epoch's nonce PRF(doc id ‖ field ‖ epoch ‖ source record), see {@link PrefixNonces}. */
    public EncryptedVector rekey(VectorTransform from, EncryptedVector v, String docId, String field) {
        return rekey(from, v, nonces.forRekeyedDocument(docId, field, epoch, v.nonce(), v.keyedResidual()));
    }

    // ---------------------------------------------------------------- keys

    /** Secret: the cell key H_c ({@link EncryptionModel#residualLength()}² row-major), derived afresh (O(n³)). */
    public double[] cellKey(int cell) {
        checkCell(cell);
        return guard.use(() -> HaarOrthogonal.derive(cellSeeds[cell], residualLength));
    }

    /** Secret: R_pub (width² row-major, a copy: d_pub², or (d_pub + 1)² for the augmented layout). */
    public double[] prefixRotation() {
        return guard.use(rotation::clone);
    }

    /**
     * Derives and caches the matrices of all cells now (instead of on first use). One cell per use of the secrets, so a
     * {@link #close} waits for one derivation at most; throws {@link IllegalStateException} once closed.
     */
    public void warmUp() {
        for (int c = 0; c < cells; c++) {
            int cell = c;
            guard.use(() -> cellMatrix(cell));
        }
    }

    /** Bytes held by cached cell matrices. */
    public long cachedBytes() {
        long n = 0;
        for (int c = 0; c < cells; c++) {
            if (cellMatrices.get(c) != null) {
                n += 4L * residualLength * residualLength;
            }
        }
        return n;
    }

    float[][] cellMatrix(int cell) {
        float[][] m = cellMatrices.get(cell);
        if (m == null) {
            synchronized (cellLocks[cell]) {
                m = cellMatrices.get(cell);
                if (m == null) {
                    m = buildCellMatrix(cell);
                    cellMatrices.set(cell, m);
                }
            }
        }
        return m;
    }

    /** H_cᵀ as float, row k = H_c's column k; for a padded model the last row is the padding column. */
    private float[][] buildCellMatrix(int cell) {
        int n = residualLength;
        double[] h = HaarOrthogonal.derive(cellSeeds[cell], n);
        float[][] hT = new float[n][n];
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < n; k++) {
                hT[k][i] = (float) h[i * n + k];
            }
        }
        Arrays.fill(h, 0);
        return hT;
    }

    /**
     * Waits for the calls in progress (they read the arrays below), then zeroes the cell seeds, cached matrices, the
     * prefix rotation, the rotated centroids and the SAP and nonce keys. Calls made afterwards fail with an
     * {@link IllegalStateException}; none computes with zeroed keys.
     */
    @Override
    public void close() {
        guard.close(() -> {
            for (byte[] s : cellSeeds) {
                Arrays.fill(s, (byte) 0);
            }
            for (int c = 0; c < cells; c++) {
                synchronized (cellLocks[c]) {
                    float[][] m = cellMatrices.getAndSet(c, null);
                    if (m != null) {
                        for (float[] row : m) {
                            Arrays.fill(row, 0f);
                        }
                    }
                }
            }
            Arrays.fill(rotation, 0);
            for (float[] row : prefixT) {
                Arrays.fill(row, 0f);
            }
            for (float[] row : residualBasisT) {
                Arrays.fill(row, 0f);
            }
            for (float[] row : centroidsT) {
                Arrays.fill(row, 0f);
            }
            Arrays.fill(rotatedCentroids, 0f);
            Arrays.fill(centroidNorms, 0f);
            if (augmentColumn != null) {
                Arrays.fill(augmentColumn, 0f);
            }
            sap.close();
            nonces.close();
            seal.close();
            if (cellJitter != null) {
                cellJitter.close();
            }
        });
    }

    /** True once {@link #close()} ran. */
    public boolean isClosed() {
        return guard.isClosed();
    }

    // ---------------------------------------------------------------- internals

    /**
     * out += Σ_j x[j] · rows[j]. One array per row keeps the load and the store at the same index, so the JIT
     * (C2 SuperWord) vectorizes the inner loop; a flat matrix with an offset defeats it (possible aliasing).
     */
    static void axpy(float[] x, float[][] rows, float[] out) {
        axpy(x, rows, 0, x.length, out);
    }

    static void axpy(float[] x, float[][] rows, int from, int to, float[] out) {
        int n = out.length;
        for (int j = from; j < to; j++) {
            float a = x[j];
            float[] row = rows[j];
            for (int i = 0; i < n; i++) {
                out[i] += a * row[i];
            }
        }
    }

    /**
     * {@link #axpy} over the first x.length rows, eight rows a pass: out is loaded and stored once per eight rows
     * instead of once per row, and eight matrix rows stream at once. A query's keyed residuals read tens of cell
     * matrices that no cache holds: over 58 matrices of 385 × 289 floats this form took 1.7 ms where {@link #axpy}
     * took 3.1 (docs/performance.md). The sums
     * are grouped differently, so results differ from {@link #axpy} in the last bits: used for queries only, so
     * that a record's ciphertext does not depend on which path encrypted it.
     */
    static void axpyEightRows(float[] x, float[][] rows, float[] out) {
        int n = out.length;
        int to = x.length;
        int j = 0;
        for (; j + 8 <= to; j += 8) {
            float a0 = x[j], a1 = x[j + 1], a2 = x[j + 2], a3 = x[j + 3];
            float a4 = x[j + 4], a5 = x[j + 5], a6 = x[j + 6], a7 = x[j + 7];
            float[] r0 = rows[j], r1 = rows[j + 1], r2 = rows[j + 2], r3 = rows[j + 3];
            float[] r4 = rows[j + 4], r5 = rows[j + 5], r6 = rows[j + 6], r7 = rows[j + 7];
            for (int i = 0; i < n; i++) {
                out[i] += (a0 * r0[i] + a1 * r1[i] + a2 * r2[i] + a3 * r3[i])
                        + (a4 * r4[i] + a5 * r5[i] + a6 * r6[i] + a7 * r7[i]);
            }
        }
        axpy(x, rows, j, to, out);
    }

    /** Four vectors at once against the same rows [from, to): each row is loaded once for four outputs. */
    static void axpy4(
            float[] x0,
            float[] x1,
            float[] x2,
            float[] x3,
            float[][] rows,
            int from,
            int to,
            float[] o0,
            float[] o1,
            float[] o2,
            float[] o3) {
        int n = o0.length;
        for (int j = from; j < to; j++) {
            float a0 = x0[j];
            float a1 = x1[j];
            float a2 = x2[j];
            float a3 = x3[j];
            float[] row = rows[j];
            for (int i = 0; i < n; i++) {
                float w = row[i];
                o0[i] += a0 * w;
                o1[i] += a1 * w;
                o2[i] += a2 * w;
                o3[i] += a3 * w;
            }
        }
    }

    /**
     * outs[idx[k]] += Σ_j xs[idx[k]][j] · rows[j] for the listed vectors: rows are taken in tiles of about 32 KB
     * that stay in cache while all the vectors go through them four at a time.
     */
    /** Floats of matrix rows per tile in {@link #axpyMany} (32 KB; 8–64 KB measured alike on a 1 MB-L2 EPYC). */
    static final int TILE_FLOATS = 8192;

    static void axpyMany(float[][] xs, int[] idx, int count, float[][] rows, float[][] outs) {
        if (count == 0) {
            return;
        }
        int len = xs[idx[0]].length; // rows past it (a padding column) are not part of the product
        int width = rows[0].length;
        int tile = Math.max(4, TILE_FLOATS / Math.max(1, width));
        for (int from = 0; from < len; from += tile) {
            int to = Math.min(len, from + tile);
            int k = 0;
            for (; k + 4 <= count; k += 4) {
                axpy4(
                        xs[idx[k]],
                        xs[idx[k + 1]],
                        xs[idx[k + 2]],
                        xs[idx[k + 3]],
                        rows,
                        from,
                        to,
                        outs[idx[k]],
                        outs[idx[k + 1]],
                        outs[idx[k + 2]],
                        outs[idx[k + 3]]);
            }
            for (; k < count; k++) {
                axpy(xs[idx[k]], rows, from, to, outs[idx[k]]);
            }
        }
    }

    private float[] prepare(float[] x, float[] into) {
        Objects.requireNonNull(x, "vector");
        if (x.length != d) {
            throw new IllegalArgumentException(
                    "vector has dimension " + x.length + ", model '" + model.id() + "' expects " + d);
        }
        double norm2 = 0;
        for (int i = 0; i < d; i++) {
            norm2 += (double) x[i] * x[i];
        }
        if (!Double.isFinite(norm2)) {
            throw new IllegalArgumentException("vector has a non-finite value");
        }
        if (space == Space.COSINE) {
            if (norm2 == 0) {
                throw new IllegalArgumentException("the zero vector has no cosine similarity");
            }
            float inv = (float) (1.0 / Math.sqrt(norm2));
            for (int i = 0; i < d; i++) {
                into[i] = x[i] * inv;
            }
            return into;
        }
        System.arraycopy(x, 0, into, 0, d);
        return into;
    }

    /** argmin_c ‖u − R·centroid_c‖² = argmin_c (‖R·centroid_c‖² − 2⟨u, R·centroid_c⟩), vectorized. */
    private int nearestCell(float[] u) {
        float[] scores = scratch.get().cellScores;
        Arrays.fill(scores, 0f);
        axpy(u, centroidsT, scores);
        int best = 0;
        float bestD = Float.POSITIVE_INFINITY;
        for (int c = 0; c < cells; c++) {
            float dd = centroidNorms[c] - 2f * scores[c];
            if (dd < bestD) {
                bestD = dd;
                best = c;
            }
        }
        return best;
    }

    /**
     * A record's cell: the nearest centroid of R u + ε, ε the cell jitter of its nonce (a fresh partition per epoch,
     * since the key and the nonce are per epoch); the nearest centroid of R u for a model without jitter.
     */
    private int recordCell(float[] ru, byte[] nonce) {
        if (cellJitter == null) {
            return nearestCell(ru);
        }
        double[] e = cellJitter.noise(nonce, false);
        float[] jittered = scratch.get().jittered;
        for (int i = 0; i < width; i++) {
            jittered[i] = (float) (ru[i] + e[i]);
        }
        Arrays.fill(e, 0);
        int cell = nearestCell(jittered);
        Arrays.fill(jittered, 0f);
        return cell;
    }

    /**
     * R [u; 0] → R [u; t′] with t′ = √(B² − ‖u‖²) (‖R [u; 0]‖ = ‖u‖), so that the record's prefix has norm B; nothing
     * for the plain layout. Refuses a vector whose prefix is longer than B (an inner-product vector longer than the
     * model was fitted for), as {@link #pad} does for the residual.
     */
    private void augment(float[] ru) {
        if (augmentColumn != null) {
            padToNorm(ru, augmentColumn, prefixNorm, "prefix");
        }
    }

    private static double dist2(float[] u, float[] m, int off) {
        float s = 0;
        for (int i = 0; i < u.length; i++) {
            float t = u[i] - m[off + i];
            s += t * t;
        }
        return s;
    }

    /**
     * ⟨a, b⟩ accumulated in double, in eight independent sums: one chain of dependent additions waits on every add's
     * latency (a window's 300 residual terms: 75 µs that way, 45 µs this way). The order differs from a plain loop's by
     * rounding only (≈ 1e-13 relative).
     */
    static double dot(float[] a, float[] b) {
        double s0 = 0;
        double s1 = 0;
        double s2 = 0;
        double s3 = 0;
        double s4 = 0;
        double s5 = 0;
        double s6 = 0;
        double s7 = 0;
        int i = 0;
        for (; i + 7 < a.length; i += 8) {
            s0 += (double) a[i] * b[i];
            s1 += (double) a[i + 1] * b[i + 1];
            s2 += (double) a[i + 2] * b[i + 2];
            s3 += (double) a[i + 3] * b[i + 3];
            s4 += (double) a[i + 4] * b[i + 4];
            s5 += (double) a[i + 5] * b[i + 5];
            s6 += (double) a[i + 6] * b[i + 6];
            s7 += (double) a[i + 7] * b[i + 7];
        }
        for (; i < a.length; i++) {
            s0 += (double) a[i] * b[i];
        }
        return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
    }

    /**
     * Adds t·(H_c's padding column) to z = H_c [r; 0] so that ‖z‖ = T: t = √(T² − ‖z‖²) (‖H_c [r; 0]‖ = ‖r‖). Refuses
     * a vector whose residual is longer than T (an inner-product vector longer than the model was fitted for).
     */
    private void pad(float[] z, float[][] h) {
        if (residualNorm > 0) {
            padToNorm(z, h[dr], residualNorm, "residual");
        }
    }

    /**
     * v += √(bound² − ‖v‖²)·column, with column a unit vector orthogonal to v (a column of the orthogonal key that
     * v's padding coordinate, 0 so far, maps to): afterwards ‖v‖ = bound. Refuses a v longer than the bound (the
     * model's {@code prefix_norm} or {@code residual_norm}, named in the message with the rule that chose it).
     */
    private void padToNorm(float[] v, float[] column, double bound, String part) {
        double v2 = dot(v, v);
        double t2 = bound * bound - v2;
        if (t2 < -1e-4 * bound * bound) {
            throw new IllegalArgumentException("vector's " + part + " norm " + (float) Math.sqrt(v2) + " exceeds the "
                    + part + "_norm " + (float) bound + " of model '" + model.id() + "' (its training vectors' largest "
                    + part + " × " + ModelFitter.RESIDUAL_NORM_MARGIN
                    + "); scale the vectors down or fit the model on vectors as long as these");
        }
        float t = (float) Math.sqrt(Math.max(0, t2));
        for (int i = 0; i < v.length; i++) {
            v[i] += t * column[i];
        }
    }

    private void checkCell(int cell) {
        if (cell < 0 || cell >= cells) {
            throw new IllegalArgumentException(
                    "cell " + cell + " out of range [0, " + cells + ") for model '" + model.id() + "'");
        }
    }

    private void checkQuery(EncryptedQuery q) {
        Objects.requireNonNull(q, "query");
        if (!q.modelId().equals(model.id()) || q.epoch() != epoch) {
            throw new IllegalArgumentException("query was encrypted for model '" + q.modelId() + "' epoch " + q.epoch()
                    + ", this transform is model '" + model.id() + "' epoch " + epoch);
        }
    }

    private void checkRecord(EncryptedVector v) {
        Objects.requireNonNull(v, "record");
        if (v.epoch() != epoch) {
            throw new IllegalArgumentException("record was encrypted under epoch " + v.epoch()
                    + ", this transform of model '" + model.id() + "' is at epoch " + epoch);
        }
        if (v.isSealed()) { // p may be absent (a per-hit record carries none): it is not part of the score
            if ((v.prefix().length != width && v.prefix().length != 0)
                    || v.sealed().length != RecordFormat.sealedBytes(d)) {
                throw new IllegalArgumentException("sealed record has prefix/sealed lengths " + v.prefix().length + "/"
                        + v.sealed().length + " bytes, model '" + model.id() + "' expects " + width + " (or none)/"
                        + RecordFormat.sealedBytes(d));
            }
            return;
        }
        if (v.prefix().length != width || v.keyedResidual().length != residualLength) {
            throw new IllegalArgumentException(
                    "record has prefix/residual lengths " + v.prefix().length + "/" + v.keyedResidual().length
                            + ", model '" + model.id() + "' expects " + width + "/" + residualLength);
        }
        checkCell(v.cell());
    }

    private static final class Scratch {
        final float[] x;
        final float[] u;
        final float[] r;
        final float[] cellScores;
        final float[] jittered;
        final float[] opened; // a sealed record's vector while it is scored
        final byte[] sealedPlain; // its bytes, as opened

        Scratch(int d, int width, int dr, int cells) {
            x = new float[d];
            opened = new float[d];
            sealedPlain = new byte[d * Float.BYTES];
            u = new float[width];
            r = new float[dr];
            jittered = new float[width];
            cellScores = new float[cells];
        }
    }

    @Override
    public String toString() {
        return "VectorTransform[model=" + model.id() + ", epoch=" + epoch + ", secrets redacted]";
    }
}

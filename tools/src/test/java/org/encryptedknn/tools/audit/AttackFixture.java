package org.encryptedknn.tools.audit;

import org.encryptedknn.keys.KeyDerivation;
import org.encryptedknn.keys.MasterKey;
import org.encryptedknn.model.EncryptionModel;
import org.encryptedknn.model.ModelFitter;
import org.encryptedknn.model.ModelParameters;
import org.encryptedknn.model.Space;
import org.encryptedknn.transform.EncryptedVector;
import org.encryptedknn.transform.VectorTransform;

/**
 * Small synthetic store for the attack tests: d = 64, d_pub = 16 (d − d_pub = 48), C = 4, β = 0.5. Unpadded (z = H_c r,
 * the layout of models stored before record residual v2, where the attacks are shown to work) unless asked for the
 * padded residual z = H_c [r; t] of every new model.
 */
final class AttackFixture implements AutoCloseable {

    static final int D = 64;
    static final int DP = 16;
    static final int CELLS = 4;

    final float[][] docs;
    final EncryptionModel model;
    final MasterKey master = MasterKey.generate();
    final KeyDerivation keys = new KeyDerivation(master);
    final VectorTransform transform;

    AttackFixture(int documents, long seed) {
        this(documents, seed, false);
    }

    AttackFixture(int documents, long seed, boolean padded) {
        docs = Vectors.normalizedAll(RekeyLinkageTest.synthetic(documents, D, seed));
        EncryptionModel fitted =
                ModelFitter.fit("attack", new ModelParameters(D, Space.COSINE, DP, CELLS, 0.5, 1), docs);
        model = padded ? fitted : unpadded(fitted);
        transform = new VectorTransform(model, keys);
    }

    /**
     * The same fitted model as stored before record residual v2: no residual padding (residual_norm 0, z = H_c r) and
     * no cell jitter (one partition for every epoch).
     */
    static EncryptionModel unpadded(EncryptionModel m) {
        return new EncryptionModel(
                m.id(),
                m.parameters(),
                m.created(),
                m.betaScale(),
                m.sampleCount(),
                m.basis(),
                m.centroids(),
                m.keySalt(),
                0,
                0,
                0,
                0); // plain prefix layout
    }

    RekeyLinkage.Epoch store() {
        EncryptedVector[] out = new EncryptedVector[docs.length];
        for (int i = 0; i < docs.length; i++) {
            out[i] = transform.encryptDocument(docs[i], "d" + i, "f");
        }
        return RekeyLinkage.Epoch.of(out);
    }

    float[][] plainPrefix(float[][] xs) {
        return Vectors.project(xs, model.basis(), D, 0, DP);
    }

    float[][] plainResidual(float[][] xs) {
        return Vectors.project(xs, model.basis(), D, DP, D - DP);
    }

    /** The attacker's reference for stored residuals: [r; t] for the padded model, r for the unpadded one. */
    float[][] storedReference(float[][] xs) {
        return Vectors.storedResidualReference(plainResidual(xs), model.residualNorm());
    }

    @Override
    public void close() {
        transform.close();
        keys.close();
        master.close();
    }
}

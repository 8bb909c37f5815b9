package org.encryptedknn.tools.audit;

import static org.junit.Assert.assertTrue;

import java.util.SplittableRandom;
import org.encryptedknn.keys.KeyDerivation;
import org.encryptedknn.keys.MasterKey;
import org.encryptedknn.model.EncryptionModel;
import org.encryptedknn.model.ModelFitter;
import org.encryptedknn.model.ModelParameters;
import org.encryptedknn.model.Space;
import org.encryptedknn.transform.VectorTransform;
import org.junit.Test;

public class RekeyLinkageTest {

    /** Anisotropic synthetic "embeddings" with a common direction, like real ones. */
    static float[][] synthetic(int count, int d, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[][] out = new float[count][d];
        for (float[] x : out) {
            for (int j = 0; j < d; j++) {
                x[j] = (float) (Sampling.gaussian(r) / Math.sqrt(1 + j) + (j == 0 ? 2 : 0));
            }
        }
        return out;
    }

    @Test
    public void residualChannelIsUnlinkableButInvariantsLink() {
        int d = 64;
        float[][] docs = synthetic(500, d, 7);
        EncryptionModel padded = ModelFitter.fit("rk", new ModelParameters(d, Space.COSINE, 16, 4, 0.5, 1), docs);
        EncryptionModel model = AttackFixture.unpadded(padded); // z = H_c r: the norm links
        try (MasterKey mk = MasterKey.generate();
                KeyDerivation keys = new KeyDerivation(mk);
                VectorTransform t1 = new VectorTransform(model, keys, 1);
                VectorTransform t2 = new VectorTransform(model.withEpoch(2), keys, 2)) {
            int n = 400;
            RekeyLinkage.Rekeyed stored = RekeyLinkage.encryptAndRekey(t1, t2, docs, n, i -> "d" + i, "f");
            RekeyLinkage.Result r = RekeyLinkage.measure(stored.before(), stored.after(), 5, 11);
            double shard = r.auc().values().iterator().next();
            assertTrue("residual AUC " + shard, shard >= 0.4 && shard <= 0.6);
            double norm = r.auc().get("−abs(norm z − norm z') (residual norm)");
            assertTrue("residual-norm AUC " + norm, norm > 0.9);
            assertTrue("norm linker R@1 " + r.r1Norm(), r.r1Norm() >= 0.95);
            assertTrue("Gram linker R@1 " + r.r1Gram(), r.r1Gram() >= 0.95);
        }
        // record residual v2: every ‖z‖ = T, the norm linker falls to chance (the Gram linker does not: not its fix)
        try (MasterKey mk = MasterKey.generate();
                KeyDerivation keys = new KeyDerivation(mk);
                VectorTransform t1 = new VectorTransform(padded, keys, 1);
                VectorTransform t2 = new VectorTransform(padded.withEpoch(2), keys, 2)) {
            RekeyLinkage.Rekeyed stored = RekeyLinkage.encryptAndRekey(t1, t2, docs, 400, i -> "d" + i, "f");
            RekeyLinkage.Result r = RekeyLinkage.measure(stored.before(), stored.after(), 5, 11);
            assertTrue("padded norm linker R@1 " + r.r1Norm(), r.r1Norm() <= 0.05);
        }
    }
}

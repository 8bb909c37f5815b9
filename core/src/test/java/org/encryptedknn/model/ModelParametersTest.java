package org.encryptedknn.model;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import org.junit.Test;

public class ModelParametersTest {

    @Test
    public void defaults() {
        ModelParameters p = ModelParameters.defaults(384, Space.COSINE);
        assertEquals(96, p.prefixDimension());
        assertEquals(288, p.residualDimension());
        assertEquals(ModelParameters.DEFAULT_CELLS, p.cells());
        assertEquals(0.5, p.beta(), 0);
        assertEquals(1, p.epoch());
        assertEquals(2, p.withEpoch(2).epoch());
        assertEquals(Space.INNER_PRODUCT, Space.parse("inner_product"));
        assertEquals(Space.COSINE, Space.parse("Cosine"));
    }

    private static void expect(String field, Runnable r) {
        try {
            r.run();
            fail("expected an error naming " + field);
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage(), e.getMessage().startsWith(field));
        }
    }

    @Test
    public void validationNamesTheField() {
        expect("dimension", () -> new ModelParameters(1, Space.COSINE, 1, 1, 0.5, 1));
        expect("space", () -> new ModelParameters(8, null, 2, 1, 0.5, 1));
        expect("prefix_dimension", () -> new ModelParameters(8, Space.COSINE, 8, 1, 0.5, 1));
        expect("prefix_dimension", () -> new ModelParameters(8, Space.COSINE, 0, 1, 0.5, 1));
        expect("cells", () -> new ModelParameters(8, Space.COSINE, 2, 0, 0.5, 1));
        expect("beta", () -> new ModelParameters(8, Space.COSINE, 2, 1, -0.1, 1));
        expect("beta", () -> new ModelParameters(8, Space.COSINE, 2, 1, Double.NaN, 1));
        expect("beta", () -> new ModelParameters(8, Space.COSINE, 2, 1, 1e39, 1));
        expect("epoch", () -> new ModelParameters(8, Space.COSINE, 2, 1, 0.5, 0));
        expect("space", () -> Space.parse("l2"));
        expect("model id", () -> EncryptionModel.checkId("bad id"));
        expect(
                "training_vectors",
                () -> ModelFitter.fit("m", new ModelParameters(4, Space.COSINE, 1, 4, 0.5, 1), new float[][] {
                    {1, 0, 0, 0}, {0, 1, 0, 0}
                }));
        expect(
                "training_vectors[1]",
                () -> ModelFitter.fit("m", new ModelParameters(4, Space.COSINE, 1, 1, 0.5, 1), new float[][] {
                    {1, 0, 0, 0}, {0, 0, 0, 0}
                }));
    }
}

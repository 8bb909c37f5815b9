package org.encryptedknn.client.cli;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.encryptedknn.client.KeyFiles;
import org.encryptedknn.client.ModelFiles;
import org.encryptedknn.corpus.ProgressBar;
import org.encryptedknn.keys.KeyDerivation;
import org.encryptedknn.keys.MasterKey;
import org.encryptedknn.model.EncryptionModel;
import org.encryptedknn.model.ModelFitter;
import org.encryptedknn.model.ModelParameters;
import org.encryptedknn.model.PrefixLayout;
import org.encryptedknn.model.Space;
import org.encryptedknn.model.WindowCalibration;

/** {@code encrypted-knn fit}: fits a model on sample vectors and writes it sealed under the master key. */
final class FitCommand implements Main.Command {

    static final int DEFAULT_LIMIT = 20_000;

    @Override
    public String summary() {
        return "fit a model (PCA basis, cells) on sample vectors; write it sealed under the master key";
    }

    @Override
    public String usage() {
        return """
            usage: encrypted-knn fit --key FILE --vectors FILE --out FILE [options]

            Reads sample vectors (JSON Lines: one JSON array of numbers per line, or one object per line holding
            the array in --field), fits a model and writes it sealed under the master key (AES-256-GCM): the
            public parameters are readable, the basis and the cell centroids are not. Use a sample of the data you
            will index (a few thousand vectors are enough); the sample itself is not stored.

              --key FILE               master key file (encrypted-knn keygen)
              --vectors FILE           sample vectors, JSON Lines ('-' = standard input)
              --out FILE               model file to write (refused if it exists, unless --force)
              --model-id ID            model id, named in the index mapping and every query (default m1)
              --field NAME             vector field of object lines (default embedding)
              --dimension D            expected dimension (default: the first vector's length)
              --space S                cosine | inner_product (default cosine)
              --prefix-dimension P     length of the DCPE-encrypted prefix the HNSW graph is built on (default D/4)
              --cells C                k-means cells, each with its own residual key (default 64)
              --beta B                 SAP noise, relative to the model's beta scale (default 0.5; 0 = no noise,
                                       only with --insecure)
              --insecure               accept --beta 0 or --cells 1 (protections off; for experiments only)
              --target-recall R        recall@10 the model's default window k is calibrated for on held-out sample
                                       vectors (default 0.95; search uses that k unless --k is given)
              --prefix-layout L        augmented | plain (default augmented: the prefix [u; t'] of one norm, HNSW
                                       width P + 1; plain: the prefix u of the models fitted before, width P)
              --limit N                use at most the first N vectors (default 20000)
              --force                  replace an existing --out file""";
    }

    @Override
    public int run(String[] args, PrintStream out, PrintStream err) {
        Options o = new Options(
                "fit",
                args,
                Set.of(
                        "--key",
                        "--vectors",
                        "--out",
                        "--model-id",
                        "--field",
                        "--dimension",
                        "--space",
                        "--prefix-dimension",
                        "--cells",
                        "--beta",
                        "--target-recall",
                        "--prefix-layout",
                        "--limit"),
                Set.of("--force", "--insecure"));
        o.noPositional();
        Path keyFile = o.path("--key");
        Path vectorsFile = o.path("--vectors");
        Path outFile = o.path("--out");
        String modelId = o.get("--model-id", "m1");
        String field = o.get("--field", "embedding");
        Integer dimensionOption = o.optionalInteger("--dimension", 2, ModelParameters.MAX_DIMENSION);
        Space space;
        try {
            space = Space.parse(o.get("--space", "cosine"));
        } catch (IllegalArgumentException e) {
            throw CliException.usage(
                    "option --space must be cosine or inner_product, got '" + o.get("--space", "") + "'");
        }
        int cells = o.integer("--cells", ModelParameters.DEFAULT_CELLS, 1, ModelParameters.MAX_CELLS);
        double beta = o.number("--beta", ModelParameters.DEFAULT_BETA);
        double targetRecall = o.number("--target-recall", WindowCalibration.DEFAULT_TARGET_RECALL);
        if (!(targetRecall > 0 && targetRecall <= 1)) {
            throw CliException.usage("option --target-recall must be in (0, 1], got " + targetRecall);
        }
        PrefixLayout layout;
        try {
            layout = PrefixLayout.parse(o.get("--prefix-layout", PrefixLayout.AUGMENTED.wireName()), "prefix_layout");
        } catch (IllegalArgumentException e) {
            throw CliException.usage(
                    "option --prefix-layout must be augmented or plain, got '" + o.get("--prefix-layout", "") + "'");
        }
        int limit = o.integer("--limit", DEFAULT_LIMIT, 2, Integer.MAX_VALUE);
        Integer prefixOption = o.optionalInteger("--prefix-dimension", 1, ModelParameters.MAX_DIMENSION);
        if (Files.exists(outFile) && !o.flag("--force")) {
            throw new CliException("model file " + outFile + " already exists; documents encrypted with it would become"
                    + " unsearchable with a new one; choose another file or pass --force");
        }

        try (MasterKey master = KeyFiles.read(keyFile);
                KeyDerivation keys = new KeyDerivation(master)) {
            List<float[]> sample = new ArrayList<>();
            long lines = Jsonl.countLines(vectorsFile, "vectors file");
            int[] dimension = {dimensionOption == null ? -1 : dimensionOption};
            try (ProgressBar bar = new ProgressBar("reading vectors", progressTotal(Math.min(lines, limit)))) {
                Jsonl.read(vectorsFile, "vectors file", (value, where) -> {
                    float[] v = Jsonl.vector(value, field, dimension[0], where);
                    if (dimension[0] < 0) {
                        dimension[0] = v.length;
                    }
                    if (space == Space.COSINE && isZero(v)) {
                        throw where.error("the vector is all zeros, which has no cosine (space cosine)");
                    }
                    sample.add(v);
                    bar.step(1);
                    return sample.size() < limit;
                });
            }
            if (sample.isEmpty()) {
                throw new CliException("vectors file " + vectorsFile + " holds no vectors");
            }
            int d = dimension[0];
            int prefix = prefixOption == null ? ModelParameters.defaultPrefixDimension(d) : prefixOption;
            ModelParameters params;
            try {
                params = new ModelParameters(d, space, prefix, cells, beta, 1);
                params.requireSecure(o.flag("--insecure"), name -> "--" + name);
            } catch (IllegalArgumentException e) {
                throw CliException.usage(e.getMessage()
                        .replace("prefix_dimension", "--prefix-dimension")
                        .replace("cells must", "--cells must")
                        .replace("beta must", "--beta must"));
            }
            if (sample.size() < Math.max(2, cells)) {
                throw new CliException("vectors file " + vectorsFile + " holds " + sample.size() + " vectors; fitting "
                        + cells + " cells needs at least " + Math.max(2, cells) + " (a few thousand are better)");
            }
            err.printf(
                    Locale.ROOT,
                    "fitting model '%s' on %d vectors (d=%d, prefix %d, %d cells, %s)…%n",
                    modelId,
                    sample.size(),
                    d,
                    prefix,
                    cells,
                    space.wireName());
            long t0 = System.nanoTime();
            EncryptionModel model = ModelFitter.fit(
                    modelId, params, sample.toArray(new float[0][]), Instant.now(), targetRecall, layout);
            ModelFiles.write(outFile, model, keys);
            out.printf(
                    Locale.ROOT,
                    "wrote sealed model '%s' to %s: d=%d, prefix_dimension=%d (%s), cells=%d, space=%s, beta=%.3f "
                            + "(beta scale %.4f), epoch %d, fitted on %d vectors in %.1f s%n",
                    model.id(),
                    outFile,
                    d,
                    prefix,
                    layout.wireName(),
                    cells,
                    space.wireName(),
                    beta,
                    model.betaScale(),
                    model.epoch(),
                    sample.size(),
                    (System.nanoTime() - t0) / 1e9);
            if (model.calibration() != null) {
                out.printf(
                        Locale.ROOT,
                        "default window k = %d (recall@10 >= %.2f over %d held-out sample vectors; grows as N^%.2f"
                                + " beyond %d documents)%n",
                        model.calibration().window(),
                        model.calibration().target(),
                        model.calibration().queries(),
                        model.calibration().growth(),
                        model.calibration().referenceSize());
            }
            if (sample.size() < 500) {
                err.println("note: " + sample.size()
                        + " vectors is a small sample; a few thousand give better cells and PCA");
            }
        }
        return 0;
    }

    /** Progress bars only for inputs long enough to need one (0 disables the bar). */
    static long progressTotal(long lines) {
        return lines >= 2000 ? lines : 0;
    }

    private static boolean isZero(float[] v) {
        for (float f : v) {
            if (f != 0f) {
                return false;
            }
        }
        return true;
    }
}

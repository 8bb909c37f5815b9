package org.encryptedknn.rest;

import com.carrotsearch.randomizedtesting.annotations.Name;
import com.carrotsearch.randomizedtesting.annotations.ParametersFactory;
import org.opensearch.test.rest.yaml.ClientYamlTestCandidate;
import org.opensearch.test.rest.yaml.OpenSearchClientYamlSuiteTestCase;

/**
 * Runs the YAML REST tests under rest-api-spec/test against a real node started from the
 * OpenSearch distribution with this plugin and opensearch-knn installed ({@code -Dtests.rest.cluster}).
 */
public class EncryptedKnnYamlIT extends OpenSearchClientYamlSuiteTestCase {

    public EncryptedKnnYamlIT(@Name("yaml") ClientYamlTestCandidate testCandidate) {
        super(testCandidate);
    }

    @ParametersFactory
    public static Iterable<Object[]> parameters() throws Exception {
        return OpenSearchClientYamlSuiteTestCase.createParameters();
    }
}

package org.encryptedknn.client.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.encryptedknn.client.OpenSearchHttp;

/** The reason of an OpenSearch error body, on one line. */
final class NodeErrors {

    private NodeErrors() {}

    static String reason(String body) {
        try {
            JsonNode error = OpenSearchHttp.JSON.readTree(body).path("error");
            if (error.isTextual()) {
                return error.asText();
            }
            JsonNode root = error.path("root_cause").path(0);
            String type = root.path("type").asText(error.path("type").asText(""));
            String reason = root.path("reason").asText(error.path("reason").asText(""));
            if (!reason.isEmpty()) {
                return (type.isEmpty() ? "" : type + ": ") + reason;
            }
        } catch (Exception e) {
            // not JSON: fall through
        }
        return Jsonl.oneLine(body);
    }
}

package org.encryptedknn.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.cbor.databind.CBORMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * A minimal JSON-over-HTTP client for one OpenSearch node (JDK HttpClient + Jackson), with CBOR for requests that
 * carry ciphertexts ({@link #postCbor}). The client library is HTTP-client agnostic; this is what the CLI,
 * benchmarks and tests use.
 */
public final class OpenSearchHttp {

    /** A non-2xx answer, with the node's error body. */
    public static final class ResponseException extends RuntimeException {
        private final int status;
        private final String body;

        ResponseException(String method, String path, int status, String body) {
            super(method + " " + path + " -> " + status + ": " + body);
            this.status = status;
            this.body = body;
        }

        public int status() {
            return status;
        }

        public String body() {
            return body;
        }
    }

    public static final ObjectMapper JSON = new ObjectMapper();
    /** CBOR: binary values ({@code byte[]}, {@link com.fasterxml.jackson.databind.node.BinaryNode}) travel as raw bytes. */
    public static final ObjectMapper CBOR = new CBORMapper();

    private final HttpClient http;
    private final URI base;
    private long bytesSent;
    private long bytesReceived;
    private volatile RequestObserver observer;

    public OpenSearchHttp(String baseUrl) {
        this.base = URI.create(baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl);
        this.http = HttpClient.newBuilder()
                .connectTimeout(Duration.ofSeconds(10))
                .version(HttpClient.Version.HTTP_1_1)
                .build();
    }

    public JsonNode get(String path) {
        return send("GET", path, null, "application/json");
    }

    public JsonNode delete(String path) {
        return send("DELETE", path, null, "application/json");
    }

    public JsonNode put(String path, Object body) {
        return send("PUT", path, toJson(body), "application/json");
    }

    public JsonNode post(String path, Object body) {
        return send("POST", path, body == null ? null : toJson(body), "application/json");
    }

    /**
     * POST {@code body} as CBOR and read the answer as CBOR (OpenSearch accepts and answers any of its XContent types):
     * binary values, e.g. ckks-mode ciphertexts, cross as raw bytes instead of base64 text in JSON. The answer reads as
     * the same tree; its binary fields are {@link com.fasterxml.jackson.databind.node.BinaryNode}s.
     */
    public JsonNode postCbor(String path, Object body) {
        RequestObserver o = observer;
        if (o != null) {
            o.request("POST", path, toJson(body)); // the same content, as JSON text
        }
        try {
            return exchange("POST", path, CBOR.writeValueAsBytes(body), "application/cbor");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** POST an NDJSON body (bulk); the string must end with a newline. */
    public JsonNode postNdjson(String path, String ndjson) {
        return send("POST", path, ndjson, "application/x-ndjson");
    }

    /** True when the path answers 2xx (e.g. {@code HEAD}-like existence checks done with GET). */
    public boolean exists(String path) {
        try {
            send("HEAD", path, null, "application/json");
            return true;
        } catch (ResponseException e) {
            if (e.status() == 404) {
                return false;
            }
            throw e;
        }
    }

    /**
     * Calls {@code observer} with every request before it is sent (method, path, exact body text); null removes it.
     * Returns this client. Used to log and audit what leaves the key holder (see {@link RequestLog}).
     */
    public OpenSearchHttp observe(RequestObserver observer) {
        this.observer = observer;
        return this;
    }

    /** Bytes of request and response bodies so far: what crossed the wire, for benchmarks. */
    public long bytesSent() {
        return bytesSent;
    }

    public long bytesReceived() {
        return bytesReceived;
    }

    private static String toJson(Object body) {
        if (body instanceof String s) {
            return s;
        }
        try {
            return JSON.writeValueAsString(body);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private synchronized void count(long sent, long received) {
        bytesSent += sent;
        bytesReceived += received;
    }

    private JsonNode send(String method, String path, String body, String contentType) {
        RequestObserver o = observer;
        if (o != null) {
            o.request(method, path, body);
        }
        return exchange(method, path, body == null ? null : body.getBytes(StandardCharsets.UTF_8), contentType);
    }

    /** Sends {@code body} in {@code contentType} and asks for the answer in the same type (JSON or CBOR). */
    private JsonNode exchange(String method, String path, byte[] body, String contentType) {
        HttpRequest.BodyPublisher publisher =
                body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body);
        boolean cbor = contentType.equals("application/cbor");
        HttpRequest request = HttpRequest.newBuilder(base.resolve(path))
                .timeout(Duration.ofMinutes(5))
                .header("Content-Type", contentType)
                .header("Accept", cbor ? "application/cbor" : "application/json")
                .method(method, publisher)
                .build();
        try {
            HttpResponse<byte[]> response = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
            byte[] bytes = response.body();
            count(body == null ? 0 : body.length, bytes.length);
            ObjectMapper format =
                    response.headers().firstValue("Content-Type").orElse("").startsWith("application/cbor")
                            ? CBOR
                            : JSON;
            if (response.statusCode() / 100 != 2) {
                String text = format == CBOR && bytes.length > 0
                        ? CBOR.readTree(bytes).toString()
                        : new String(bytes, StandardCharsets.UTF_8);
                throw new ResponseException(method, path, response.statusCode(), text);
            }
            return bytes.length == 0 ? JSON.createObjectNode() : format.readTree(bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(method + " " + path + " failed: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted during " + method + " " + path, e);
        }
    }
}

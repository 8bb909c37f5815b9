package org.encryptedknn.rescore;

/**
 * How each rescore mode names the parts of its {@code query} in error messages. Both styles are documented
 * (docs/storage-plugin.md, docs/ckks-mode.md) and kept as they are:
 * <ul>
 *   <li>{@link #KEYED}: {@code [encrypted_knn] rescore: [query.cells.3] is not valid base64}</li>
 *   <li>{@link #CKKS}: {@code [encrypted_knn] rescore.encrypted_knn.query.cells[3]: is not valid base64}</li>
 * </ul>
 */
enum RescorePayloadErrors {
    KEYED("base64 float32", "a base64 string of little-endian float32") {
        @Override
        String field(String name) {
            return "[query." + name + "]";
        }

        @Override
        String cell(int id) {
            return "[query.cells." + id + "]";
        }

        @Override
        IllegalArgumentException error(String subject, String problem) {
            return KeyedRescorePayload.bad(subject + " " + problem);
        }

        @Override
        String tooManyValues(int maxLength) {
            return "is too long";
        }
    },
    CKKS(
            "base64 CKKS ciphertext",
            "a base64 string or, in CBOR/SMILE, a byte string (a seeded SEAL CKKS ciphertext in wire form)") {
        @Override
        String field(String name) {
            return CkksRescorePayload.PATH + "." + name;
        }

        @Override
        String cell(int id) {
            return CkksRescorePayload.PATH + ".cells[" + id + "]";
        }

        @Override
        IllegalArgumentException error(String subject, String problem) {
            return CkksRescorePayload.bad(subject, problem);
        }

        @Override
        String tooManyValues(int maxLength) {
            return "has more than " + maxLength + " values";
        }
    };

    /** The cell value in the shape of the {@code cells} object, e.g. {@code <base64 float32>}. */
    final String cellValue;
    /** What a cell value must be, e.g. {@code a base64 string of little-endian float32}. */
    final String cellValueType;

    RescorePayloadErrors(String cellValue, String cellValueType) {
        this.cellValue = cellValue;
        this.cellValueType = cellValueType;
    }

    /** The subject naming a key of the query object: {@code field("prefix")}. */
    abstract String field(String name);

    /** The subject naming one cell of the {@code cells} object. */
    abstract String cell(int id);

    /** The subject naming the {@code i}-th value of {@code subject}. */
    final String element(String subject, int i) {
        return subject + "[" + i + "]";
    }

    /** The 400 error for {@code problem} (e.g. "is required") at {@code subject}. */
    abstract IllegalArgumentException error(String subject, String problem);

    /** The problem of an array longer than {@code maxLength}. */
    abstract String tooManyValues(int maxLength);
}

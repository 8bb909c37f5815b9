package org.encryptedknn.search.pipeline;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.encryptedknn.fields.FieldCipher;
import org.encryptedknn.keystore.KeyLease;
import org.encryptedknn.query.EncryptedKnnQueryBuilder;
import org.opensearch.index.query.BoolQueryBuilder;
import org.opensearch.index.query.ConstantScoreQueryBuilder;
import org.opensearch.index.query.QueryBuilder;
import org.opensearch.index.query.TermQueryBuilder;
import org.opensearch.index.query.TermsQueryBuilder;

/**
 * Rewrites {@code term} and {@code terms} queries on deterministic (AES-SIV) fields into their ciphertext form, so that
 * exact-match filters keep working on encrypted keyword fields. Looked for at the top level, inside {@code bool}
 * clauses (any depth), {@code constant_score}, the {@code filter} of {@code encrypted_knn}, and the post filter.
 */
final class DeterministicTerms {

    private final Set<String> fields;
    private final KeyLease lease;

    DeterministicTerms(Set<String> fields, KeyLease lease) {
        this.fields = fields;
        this.lease = lease;
    }

    QueryBuilder rewrite(QueryBuilder q) {
        if (q == null || fields.isEmpty()) {
            return q;
        }
        if (q instanceof TermQueryBuilder term && fields.contains(term.fieldName())) {
            if (term.caseInsensitive()) {
                throw new IllegalArgumentException("[term] on deterministic field [" + term.fieldName()
                        + "] cannot be case_insensitive: the field is stored encrypted");
            }
            TermQueryBuilder out = new TermQueryBuilder(term.fieldName(), encrypt(term.fieldName(), term.value()));
            out.boost(term.boost()).queryName(term.queryName());
            return out;
        }
        if (q instanceof TermsQueryBuilder terms && fields.contains(terms.fieldName())) {
            if (terms.termsLookup() != null) {
                throw new IllegalArgumentException("[terms] lookup on deterministic field [" + terms.fieldName()
                        + "] is not supported: give the values inline");
            }
            List<String> values = new ArrayList<>();
            for (Object v : terms.values()) {
                values.add(encrypt(terms.fieldName(), v));
            }
            TermsQueryBuilder out = new TermsQueryBuilder(terms.fieldName(), values);
            out.boost(terms.boost()).queryName(terms.queryName());
            return out;
        }
        if (q instanceof BoolQueryBuilder bool) {
            rewriteAll(bool.must());
            rewriteAll(bool.filter());
            rewriteAll(bool.should());
            rewriteAll(bool.mustNot());
            return bool;
        }
        if (q instanceof ConstantScoreQueryBuilder cs) {
            QueryBuilder inner = rewrite(cs.innerQuery());
            if (inner != cs.innerQuery()) {
                ConstantScoreQueryBuilder out = new ConstantScoreQueryBuilder(inner);
                out.boost(cs.boost()).queryName(cs.queryName());
                return out;
            }
            return cs;
        }
        if (q instanceof EncryptedKnnQueryBuilder knn && knn.filter() != null) {
            QueryBuilder f = rewrite(knn.filter());
            return f == knn.filter() ? knn : knn.filter(f);
        }
        return q;
    }

    private void rewriteAll(List<QueryBuilder> clauses) {
        for (int i = 0; i < clauses.size(); i++) {
            clauses.set(i, rewrite(clauses.get(i)));
        }
    }

    private String encrypt(String field, Object value) {
        String s = value instanceof org.apache.lucene.util.BytesRef b ? b.utf8ToString() : String.valueOf(value);
        if (FieldCipher.isEncrypted(s)) {
            return s;
        }
        return lease.fieldCipher(field).encryptDeterministic(s);
    }
}

package org.encryptedknn.tools.audit;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.util.List;
import java.util.Set;
import org.junit.Test;

public class AuditToolTest {

    @Test
    public void attacksFlagSelectsSectionsAndNamesAnUnknownOne() {
        Set<String> all = LeakageAudit.Config.defaults().attacks();
        assertEquals(Set.copyOf(LeakageAudit.ATTACKS), all);
        assertEquals(List.of("norm", "gram"), List.copyOf(AuditTool.attacks("norm,gram", all)));
        LeakageAudit.Config d = LeakageAudit.Config.defaults();
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> new LeakageAudit.Config(
                        d.outDir(),
                        d.corpusLimit(),
                        d.queries(),
                        d.probes(),
                        d.realCells(),
                        d.betas(),
                        d.defaultBeta(),
                        d.poolSize(),
                        d.poolCells(),
                        d.victims(),
                        d.gallery(),
                        d.targetedCells(),
                        d.victimsPerCell(),
                        d.linkingQueries(),
                        d.probeCells(),
                        AuditTool.attacks("norm,nrom", all),
                        d.seed()));
        assertTrue(e.getMessage(), e.getMessage().contains("[nrom]"));
    }
}

package org.nbdosgi.engine.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;

import org.junit.jupiter.api.Test;

class MetaContextQueryTest {
    static final List<String> OFFERED = List.of("base:allocation", "qemu:dirty-bitmap:daily", "qemu:dirty-bitmap:weekly",
            "qemu:allocation-depth");

    static List<String> list(String... queries) {
        return MetaContextQuery.matching(OFFERED, List.of(queries), true);
    }

    static List<String> set(String... queries) {
        return MetaContextQuery.matching(OFFERED, List.of(queries), false);
    }

    @Test
    void listingWithoutAQueryListsEverything() {
        assertEquals(OFFERED, list());
        assertEquals(List.of(), set(), "a set without queries selects nothing");
    }

    @Test
    void aNamespaceOrPrefixEndingInAColonIsAWildcardForListingOnly() {
        assertEquals(List.of("base:allocation"), list("base:"));
        assertEquals(List.of("qemu:dirty-bitmap:daily", "qemu:dirty-bitmap:weekly", "qemu:allocation-depth"), list("qemu:"));
        assertEquals(List.of("qemu:dirty-bitmap:daily", "qemu:dirty-bitmap:weekly"), list("qemu:dirty-bitmap:"));
        assertEquals(List.of(), set("base:", "qemu:", "qemu:dirty-bitmap:"));
    }

    @Test
    void exactNamesSelectInTheOrderAskedOnceEachAndUnknownOnesAreIgnored() {
        assertEquals(List.of("qemu:dirty-bitmap:weekly", "base:allocation"),
                set("qemu:dirty-bitmap:weekly", "x-unknown:thing", "base:allocation", "base:frob", "qemu:dirty-bitmap:weekly"));
        assertEquals(List.of("qemu:allocation-depth", "qemu:dirty-bitmap:daily", "qemu:dirty-bitmap:weekly"),
                list("qemu:allocation-depth", "qemu:dirty-bitmap:"));
    }

    @Test
    void aQueryWithoutANamespaceIsInvalid() {
        assertEquals("query 'allocation' does not start with a namespace and a colon",
                assertThrows(IllegalArgumentException.class, () -> set("allocation")).getMessage());
        assertThrows(IllegalArgumentException.class, () -> list(":allocation"));
    }
}

package org.nbdosgi.filter.cbt;

import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.osgi.service.component.annotations.Component;

/** The cbt filter instances running now, so the bitmap commands find an export's bitmaps. Thread-safe. */
@Component(service = LiveBitmaps.class)
public final class LiveBitmaps {
    private final Set<CbtInstance> running = ConcurrentHashMap.newKeySet();

    void add(CbtInstance instance) {
        running.add(instance);
    }

    void remove(CbtInstance instance) {
        running.remove(instance);
    }

    /** The export's one running cbt filter. */
    CbtInstance of(String export) {
        List<CbtInstance> found = running.stream().filter(i -> i.exportName().equals(export)).toList();
        if (found.isEmpty()) {
            List<String> with = running.stream().map(CbtInstance::exportName).sorted().map(CbtInstance::quoted).toList();
            throw new IllegalArgumentException("export " + CbtInstance.quoted(export) + " has no running cbt filter"
                    + (with.isEmpty() ? " (none has; add one with nbd:filter-insert " + CbtInstance.quoted(export) + " cbt)"
                    : " (exports with one: " + String.join(", ", with) + ")"));
        }
        if (found.size() > 1) {
            throw new IllegalArgumentException("export " + CbtInstance.quoted(export) + " has " + found.size()
                    + " cbt filters; keep one");
        }
        return found.get(0);
    }

    List<CbtInstance> all() {
        return running.stream().sorted(Comparator.comparing(CbtInstance::exportName)).toList();
    }
}

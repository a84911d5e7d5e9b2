package org.nbdosgi.filter.stats;

import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.osgi.service.component.annotations.Component;

/**
 * The stats filter instances running now, so {@code nbd:stats} can show any export's counts at any
 * moment. Control plane; thread-safe.
 */
@Component(service = LiveStats.class)
public final class LiveStats {
    private final Set<StatsInstance> running = ConcurrentHashMap.newKeySet();

    void add(StatsInstance instance) {
        running.add(instance);
    }

    void remove(StatsInstance instance) {
        running.remove(instance);
    }

    /** Every running instance, by export name. */
    List<StatsInstance> all() {
        return running.stream().sorted(Comparator.comparing(StatsInstance::exportName)).toList();
    }

    /** The instances on one export: usually one, more if the chain stacks the filter. */
    List<StatsInstance> of(String exportName) {
        return all().stream().filter(i -> i.exportName().equals(exportName)).toList();
    }
}

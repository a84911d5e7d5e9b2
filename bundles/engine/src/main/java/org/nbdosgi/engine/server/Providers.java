package org.nbdosgi.engine.server;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.osgi.framework.Constants;

/**
 * Every registered service of one kind (plugins or filters) by name, best first: the highest
 * service ranking, then the newest registration. Two bundles may offer the same name (version 0.2
 * of a plugin dropped next to 0.1); new chains use the best one, and when one goes the exports
 * built with it move to the next. Service events arrive on any thread; lookups come from any thread.
 */
final class Providers<T> {
    private record Provider<T>(T service, int ranking, long serviceId) {
    }

    private static final Comparator<Provider<?>> BEST_FIRST = Comparator.<Provider<?>>comparingInt(Provider::ranking)
            .thenComparingLong(Provider::serviceId).reversed();

    private final Map<String, List<Provider<T>>> byName = new ConcurrentHashMap<>();

    /** A service registered under {@code name}, with its service properties (ranking and id). */
    void add(String name, T service, Map<String, Object> props) {
        Provider<T> p = new Provider<>(service, number(props.get(Constants.SERVICE_RANKING)).intValue(),
                number(props.get(Constants.SERVICE_ID)).longValue());
        byName.compute(name, (k, list) -> {
            List<Provider<T>> next = list == null ? new ArrayList<>() : new ArrayList<>(list);
            next.add(p);
            next.sort(BEST_FIRST);
            return List.copyOf(next);
        });
    }

    /** Removes one service; returns how many providers of {@code name} remain. */
    int remove(String name, T service) {
        List<Provider<T>> left = byName.computeIfPresent(name, (k, list) -> {
            List<Provider<T>> next = list.stream().filter(p -> p.service() != service).toList();
            return next.isEmpty() ? null : next;
        });
        return left == null ? 0 : left.size();
    }

    /** The provider new chains use, or null if there is none. */
    T best(String name) {
        List<Provider<T>> list = byName.get(name);
        return list == null ? null : list.get(0).service();
    }

    /** The best provider of each name. */
    Collection<T> bestOfEach() {
        return byName.values().stream().map(l -> l.get(0).service()).toList();
    }

    private static Number number(Object o) {
        return o instanceof Number n ? n : 0;
    }
}

package org.nbdosgi.plugin.s3;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * The per-object lock of the writes: changes to one object (a PUT, a DELETE, a read-modify-write)
 * run one after another in the order they arrived, while changes to different objects run at
 * once. Asynchronous, so no thread waits for the lock: each change is chained after the one
 * before it on the same object. Data plane; lock-free apart from the map.
 */
final class ObjectQueues {
    private final ConcurrentHashMap<Long, CompletableFuture<Void>> tails = new ConcurrentHashMap<>();

    /** Starts {@code change} on object {@code index} once the changes queued before it have finished. */
    <T> CompletableFuture<T> run(long index, Supplier<CompletableFuture<T>> change) {
        CompletableFuture<Void> finished = new CompletableFuture<>();
        CompletableFuture<Void> before = tails.put(index, finished);
        CompletableFuture<T> result = before == null ? start(change) : before.thenCompose(x -> start(change));
        result.whenComplete((v, e) -> {
            tails.remove(index, finished);
            finished.complete(null);
        });
        return result;
    }

    private static <T> CompletableFuture<T> start(Supplier<CompletableFuture<T>> change) {
        try {
            return change.get();
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    /** Objects with changes queued or running (for tests). */
    int busy() {
        return tails.size();
    }
}

package org.nbdosgi.plugin.s3;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * The per-object lock of the writes: changes to one object (a PUT, a DELETE, a read-modify-write)
 * run one after another in the order they arrived, while changes to different objects run at
 * once. Asynchronous, so no thread waits for the lock: each change is chained after the one
 * before it on the same object. A change to many objects at once (a batch delete) takes its place
 * in every one of their queues. Data plane; lock-free apart from the map, and apart from a lock
 * held only while a batch takes its places.
 */
final class ObjectQueues {
    private final ConcurrentHashMap<Long, CompletableFuture<Void>> tails = new ConcurrentHashMap<>();
    /** Batches take their places one batch at a time: two interleaved could each wait for the other. */
    private final Object batchPlaces = new Object();

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

    /**
     * Starts {@code change}, which changes every object in {@code indices}, once the changes queued
     * before it on any of them have finished; later changes to any of them wait for it.
     */
    <T> CompletableFuture<T> runAll(long[] indices, Supplier<CompletableFuture<T>> change) {
        CompletableFuture<Void> finished = new CompletableFuture<>();
        Set<CompletableFuture<Void>> before = Collections.newSetFromMap(new IdentityHashMap<>());
        synchronized (batchPlaces) {
            for (long index : indices) {
                CompletableFuture<Void> b = tails.put(index, finished);
                if (b != null) {
                    before.add(b);
                }
            }
        }
        CompletableFuture<T> result = before.isEmpty() ? start(change)
                : CompletableFuture.allOf(before.toArray(CompletableFuture[]::new)).thenCompose(x -> start(change));
        result.whenComplete((v, e) -> {
            for (long index : indices) {
                tails.remove(index, finished);
            }
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

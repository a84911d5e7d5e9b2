package org.nbdosgi.plugin.s3;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.LongStream;

import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.Extents;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.MetricSink;
import org.nbdosgi.api.PluginInstance;
import org.nbdosgi.common.buffers.Zeros;
import org.nbdosgi.plugin.s3.ObjectStore.Got;
import org.nbdosgi.plugin.s3.ObjectStore.Sink;
import software.amazon.awssdk.core.async.AsyncRequestBody;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;

/**
 * One export's disk in the bucket. Data plane: every request is split at object boundaries and
 * each piece is one call to the store, all in flight at once; the request thread (virtual) waits
 * for them together. Reads go straight to the store, unlocked. Changes to one object queue behind
 * each other ({@link ObjectQueues}): a whole-object write is one PUT, a partial one a GET of the
 * object, the new bytes merged in, and a PUT (or a DELETE when the object became all zeros); a
 * zero or trim DELETEs the objects it covers whole (in batches when there are many, each batch
 * queued behind the changes before it on every one of its objects). A request is answered only when every call it
 * made has finished, so an acknowledged write is in the store: flush and FUA have nothing left to do.
 */
final class S3Disk implements PluginInstance {
    /** Up to this many whole objects are deleted one request each; more in batches (a zero) or as listed (a trim). */
    private static final int DELETE_ONE_BY_ONE = 32;
    /** Objects per DeleteObjects request: S3's limit. */
    private static final int BATCH = 1000;
    /** Batch deletions in flight for one large zero: enough to overlap round trips, few enough not to crowd out other requests. */
    private static final int BATCH_LANES = 4;
    private static final int LIST_PAGE = 1000;

    private final ObjectStore store;
    private final S3Settings settings;
    private final Geometry geometry;
    private final String key;
    private final int objectSize;
    private final int shift;
    private final ObjectQueues queues = new ObjectQueues();

    S3Disk(ObjectStore store, S3Settings settings, Geometry geometry) {
        this.store = store;
        this.settings = settings;
        this.geometry = geometry;
        this.key = settings.key();
        this.objectSize = geometry.objectSize();
        this.shift = Integer.numberOfTrailingZeros(objectSize);
    }

    Geometry geometry() {
        return geometry;
    }

    ObjectQueues queues() {
        return queues;
    }

    @Override
    public Handle open(ClientContext client) {
        return new S3Handle(this, !geometry.single() && !client.readOnly());
    }

    void read(ByteBuffer buf, long offset) throws IOException {
        if (geometry.single()) {
            Sink sink = new Sink(buf);
            Got got = awaitAll(List.of(store.get(key, offset, sink)), List.of(sink)).getFirst();
            Zeros.fill(buf, buf.position() + (int) got.received(), buf.remaining() - (int) got.received());
            return;
        }
        List<CompletableFuture<Got>> calls = new ArrayList<>();
        List<Sink> sinks = new ArrayList<>();
        forEachPiece(offset, buf.remaining(), (index, within, at, length) -> {
            Sink sink = new Sink(buf.slice(buf.position() + at, length));
            sinks.add(sink);
            calls.add(store.get(objectKey(index), within, sink));
        });
        List<Got> got = awaitAll(calls, sinks);
        int at = 0;
        for (int i = 0; i < got.size(); i++) {
            int length = sinks.get(i).length();
            Zeros.fill(buf, buf.position() + at + (int) got.get(i).received(), length - (int) got.get(i).received());     // missing or short objects read as zeros
            at += length;
        }
    }

    void write(ByteBuffer buf, long offset) throws IOException {
        List<CompletableFuture<Void>> calls = new ArrayList<>();
        forEachPiece(offset, buf.remaining(), (index, within, at, length) -> {
            ByteBuffer piece = buf.slice(buf.position() + at, length);
            if (length == objectSize) {
                calls.add(Zeros.isZero(piece) ? queues.run(index, () -> store.delete(objectKey(index)))
                        : putWhole(index, AsyncRequestBody.fromByteBuffer(piece)));   // copied: see below
            } else {
                ByteBuffer bytes = ByteBuffer.allocate(length).put(0, piece, 0, length);
                calls.add(queues.run(index, () -> modify(index, within, bytes)));
            }
        });
        // Every byte of the engine's buffer was copied above, before any call could start: a call that
        // times out may still be sending when this method returns and the engine reuses the buffer.
        awaitAll(calls, List.of());
    }

    private CompletableFuture<Void> putWhole(long index, AsyncRequestBody body) {
        return queues.run(index, () -> store.put(objectKey(index), body, objectSize));
    }

    /** Read-modify-write of one object: {@code bytes} replace its bytes from {@code within}. Runs in the object's queue. */
    private CompletableFuture<Void> modify(long index, int within, ByteBuffer bytes) {
        ByteBuffer whole = ByteBuffer.allocate(objectSize);
        return store.get(objectKey(index), 0, new Sink(whole)).thenCompose(got -> {
            if (!got.found() && Zeros.isZero(bytes)) {
                return CompletableFuture.completedFuture(null);       // zeros into a missing object: nothing changes
            }
            whole.put(within, bytes, 0, bytes.remaining());            // past what was received, it is still zeros
            if (Zeros.isZero(whole)) {
                return got.found() ? store.delete(objectKey(index)) : CompletableFuture.completedFuture(null);
            }
            return store.put(objectKey(index), AsyncRequestBody.fromByteBufferUnsafe(whole), objectSize);
        });
    }

    /**
     * Zeros a range: partial objects by read-modify-write, whole ones by deleting them. The objects to
     * delete are named from the range, never taken from a listing: a store's listing may miss keys
     * (S3Proxy 2.7.0's filesystem listing silently stops early when a file vanishes under it, as a
     * concurrent PUT's temporary file does), and a zero that missed one would leave its data readable.
     */
    void zero(long offset, long length) throws IOException {
        List<CompletableFuture<Void>> calls = new ArrayList<>();
        long firstWhole = ceilIndex(offset);
        long endWhole = (offset + length) >>> shift;
        if (firstWhole > endWhole) {                                   // inside one object
            calls.add(zeroPart(offset, (int) length));
        } else {
            if (offset < firstWhole << shift) {
                calls.add(zeroPart(offset, (int) ((firstWhole << shift) - offset)));
            }
            if (offset + length > endWhole << shift) {
                calls.add(zeroPart(endWhole << shift, (int) (offset + length - (endWhole << shift))));
            }
            calls.add(deleteRange(firstWhole, endWhole));
        }
        awaitAll(calls, List.of());
    }

    private CompletableFuture<Void> zeroPart(long offset, int length) {
        long index = offset >>> shift;
        return queues.run(index, () -> modify(index, (int) (offset & (objectSize - 1)), ByteBuffer.allocate(length)));
    }

    /**
     * Discards the objects a range covers whole; the parts of objects at its ends stay as they are.
     * A large trim deletes what a listing shows: cheap on a sparse disk (one listing page per 1000
     * objects that exist, not per 1000 the range covers), and an object a listing missed is only
     * space not reclaimed, which a trim is allowed to leave (its bytes read back unspecified).
     */
    void trim(long offset, long length) throws IOException {
        long first = ceilIndex(offset);
        long end = (offset + length) >>> shift;
        awaitAll(List.of(end - first <= DELETE_ONE_BY_ONE ? deleteRange(first, end)
                : deleteListed(first, end, first == 0 ? null : objectKey(first - 1))), List.of());
    }

    /**
     * Deletes objects {@code first} (inclusive) to {@code end} (exclusive), every one of them whether
     * it exists or not: a few one request each, more in batches of {@link #BATCH} per request,
     * {@link #BATCH_LANES} batches in flight. Each deletion waits in its objects' queues.
     */
    private CompletableFuture<Void> deleteRange(long first, long end) {
        if (end - first <= DELETE_ONE_BY_ONE) {
            List<CompletableFuture<Void>> calls = new ArrayList<>();
            for (long i = first; i < end; i++) {
                long index = i;
                calls.add(queues.run(index, () -> store.delete(objectKey(index))));
            }
            return CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new));
        }
        List<CompletableFuture<Void>> lanes = new ArrayList<>();
        for (long from = first; from < end && lanes.size() < BATCH_LANES; from += BATCH) {
            lanes.add(deleteLane(from, end));
        }
        return CompletableFuture.allOf(lanes.toArray(CompletableFuture[]::new));
    }

    /** Deletes the batch at {@code from}, then every {@link #BATCH_LANES}th batch after it before {@code end}. */
    private CompletableFuture<Void> deleteLane(long from, long end) {
        long[] batch = LongStream.range(from, Math.min(end, from + BATCH)).toArray();
        long next = from + (long) BATCH * BATCH_LANES;
        return deleteBatch(batch).thenCompose(x -> next < end ? deleteLane(next, end) : CompletableFuture.completedFuture(null));
    }

    private CompletableFuture<Void> deleteBatch(long[] indices) {
        List<String> keys = Arrays.stream(indices).mapToObj(this::objectKey).toList();
        return queues.runAll(indices, () -> store.deleteAll(keys));
    }

    /** Deletes the objects a listing shows from {@code first} (inclusive) to {@code end} (exclusive), page by page. */
    private CompletableFuture<Void> deleteListed(long first, long end, String startAfter) {
        return store.list(key + "/", startAfter, LIST_PAGE).thenCompose(page -> {
            boolean past = false;
            List<Long> doomed = new ArrayList<>();
            for (String k : ObjectStore.keys(page)) {
                long index = Geometry.objectIndex(key, k);
                past |= index >= end;
                if (index >= first && index < end) {
                    doomed.add(index);
                }
            }
            CompletableFuture<Void> deleted = doomed.isEmpty() ? CompletableFuture.completedFuture(null)
                    : deleteBatch(doomed.stream().mapToLong(Long::longValue).toArray());
            if (past || !page.isTruncated() || page.contents().isEmpty()) {
                return deleted;
            }
            String last = page.contents().getLast().key();
            return deleted.thenCompose(x -> deleteListed(first, end, last));
        });
    }

    /** Allocation from the listing: listed objects are data, the rest holes that read as zeros. */
    void extents(long offset, long length, boolean one, Extents extents) throws IOException {
        long pos = offset >>> shift;
        long end = Math.min(geometry.objects(), ceilIndex(offset + length));
        String startAfter = pos == 0 ? null : objectKey(pos - 1);
        while (true) {
            int max = one ? 1 : (int) Math.min(LIST_PAGE, Math.max(1, end - pos));
            ListObjectsV2Response page = ObjectStore.await(store.list(key + "/", startAfter, max));
            boolean complete = !page.isTruncated();
            for (String k : ObjectStore.keys(page)) {
                long index = Geometry.objectIndex(key, k);
                if (index < 0) {
                    continue;                                          // not one of the disk's objects
                }
                if (index >= end) {
                    complete = true;
                    break;
                }
                if (index > pos) {
                    extents.add(pos << shift, (index - pos) << shift, Extents.HOLE | Extents.ZERO);
                }
                extents.add(index << shift, objectSize, 0);
                pos = index + 1;
            }
            if (complete) {
                if (pos < end) {
                    extents.add(pos << shift, (end - pos) << shift, Extents.HOLE | Extents.ZERO);
                }
                return;
            }
            if (extents.count() > 0) {
                return;                                                // the rest is for the client to ask again
            }
            startAfter = page.contents().getLast().key();
        }
    }

    private long ceilIndex(long offset) {
        return (offset + objectSize - 1) >>> shift;
    }

    private String objectKey(long index) {
        return Geometry.objectKey(key, index);
    }

    private interface PieceAction {
        void accept(long index, int within, int at, int length);
    }

    /** Splits {@code [offset, offset + length)} at object boundaries: object, offset in it, offset in the request, length. */
    private void forEachPiece(long offset, int length, PieceAction action) {
        int at = 0;
        while (at < length) {
            long pos = offset + at;
            int within = (int) (pos & (objectSize - 1));
            int n = Math.min(length - at, objectSize - within);
            action.accept(pos >>> shift, within, at, n);
            at += n;
        }
    }

    /** Waits for every call (even after one failed), then closes the sinks; the first failure is thrown. */
    private static <T> List<T> awaitAll(List<CompletableFuture<T>> calls, List<Sink> sinks) throws IOException {
        try {
            CompletableFuture<?> all = calls.size() == 1 ? calls.getFirst() : CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new));
            ObjectStore.await(all);
        } finally {
            sinks.forEach(Sink::close);
        }
        return calls.stream().map(CompletableFuture::join).toList();
    }

    /**
     * The disk's shape and the secrets as they were read, for the successor after a hot swap (JDK
     * types only): it then starts without asking the store, and without reading a secret a second
     * time from a terminal or a file descriptor that has nothing left to give.
     */
    @Override
    public Object handOver() {
        return HandOver.of(settings, geometry);
    }

    /** Upstream latency and failures per kind of call to the object store. */
    @Override
    public void metrics(MetricSink sink) {
        store.metrics(sink);
    }

    @Override
    public void close() {
        store.close();
    }
}

package org.nbdosgi.engine.chain;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.nbdosgi.api.Handle;
import org.nbdosgi.api.Support;

/** A byte-array disk that records the calls it gets, with capabilities set per test. */
public class RecordingHandle implements Handle {
    public final byte[] disk;
    public final List<String> calls = new CopyOnWriteArrayList<>();
    public boolean writable = true;
    public boolean flushable = true;
    public Support zero = Support.EMULATE;
    public Support fua = null;
    public Support cache = Support.NONE;

    public RecordingHandle(int size) {
        disk = new byte[size];
    }

    @Override
    public long size() {
        return disk.length;
    }

    @Override
    public boolean canWrite() {
        return writable;
    }

    @Override
    public boolean canFlush() {
        return flushable;
    }

    @Override
    public Support canZero() {
        return zero;
    }

    @Override
    public Support canFua() {
        return fua != null ? fua : flushable ? Support.EMULATE : Support.NONE;
    }

    @Override
    public Support canCache() {
        return cache;
    }

    @Override
    public void read(ByteBuffer buf, long offset, int flags) {
        calls.add("read " + offset + "+" + buf.remaining());
        buf.duplicate().put(disk, (int) offset, buf.remaining());
    }

    @Override
    public void write(ByteBuffer buf, long offset, int flags) {
        calls.add("write " + offset + "+" + buf.remaining() + " flags=" + flags);
        buf.duplicate().get(disk, (int) offset, buf.remaining());
    }

    @Override
    public void flush(int flags) {
        calls.add("flush");
    }

    @Override
    public void zero(long offset, long length, int flags) throws java.io.IOException {
        calls.add("zero " + offset + "+" + length + " flags=" + flags);
        java.util.Arrays.fill(disk, (int) offset, (int) (offset + length), (byte) 0);
    }

    @Override
    public void cache(long offset, long length, int flags) {
        calls.add("cache " + offset + "+" + length);
    }
}

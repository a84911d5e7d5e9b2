package org.nbdosgi.launcher;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;

/**
 * {@code Warmup SOCKET}: the client of the training run that makes the class-data archive
 * ({@code lib/make-aot-cache.sh}), so the archive holds what a first request needs: fixed newstyle
 * handshake, NBD_OPT_GO, a write, a read, a flush, disconnect. Exits 1 if the server does not
 * answer as the protocol says. Not used while serving.
 */
public final class Warmup {
    private static final long IHAVEOPT = 0x49484156454F5054L;
    private static final int OPT_GO = 7;
    private static final int REP_ACK = 1;
    private static final int REQUEST_MAGIC = 0x25609513;
    private static final int SIMPLE_REPLY_MAGIC = 0x67446698;

    private Warmup() {
    }

    public static void main(String[] args) throws IOException {
        try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            c.connect(UnixDomainSocketAddress.of(args[0]));
            DataInputStream in = new DataInputStream(Channels.newInputStream(c));
            DataOutputStream out = new DataOutputStream(Channels.newOutputStream(c));
            in.readLong();                                  // NBDMAGIC
            expect(in.readLong() == IHAVEOPT, "newstyle");
            in.readShort();                                 // handshake flags
            out.writeInt(3);                                // fixed newstyle, no zeroes
            out.writeLong(IHAVEOPT);
            out.writeInt(OPT_GO);
            out.writeInt(6);                                // name length 0, no info requests
            out.writeInt(0);
            out.writeShort(0);
            out.flush();
            while (true) {                                  // NBD_REP_INFO..., then NBD_REP_ACK
                in.readLong();
                expect(in.readInt() == OPT_GO, "option reply");
                int type = in.readInt();
                in.readNBytes(in.readInt());
                if (type == REP_ACK) {
                    break;
                }
                expect(type > 0, "NBD_OPT_GO accepted");
            }
            request(out, 1, 4096, true);                    // write
            reply(in, 0);
            request(out, 0, 4096, false);                   // read
            reply(in, 4096);
            request(out, 3, 0, false);                      // flush
            reply(in, 0);
            request(out, 2, 0, false);                      // disconnect
        }
    }

    private static void request(DataOutputStream out, int command, int length, boolean payload) throws IOException {
        out.writeInt(REQUEST_MAGIC);
        out.writeShort(0);
        out.writeShort(command);
        out.writeLong(command);                             // handle
        out.writeLong(command == 3 ? 0 : 8192);
        out.writeInt(length);
        if (payload) {
            out.write(new byte[length]);
        }
        out.flush();
    }

    private static void reply(DataInputStream in, int length) throws IOException {
        expect(in.readInt() == SIMPLE_REPLY_MAGIC, "simple reply");
        expect(in.readInt() == 0, "no error");
        in.readLong();
        in.readNBytes(length);
    }

    private static void expect(boolean ok, String what) {
        if (!ok) {
            System.err.println("warmup: expected " + what);
            System.exit(1);
        }
    }
}

package org.nbdosgi.plugin.http;

import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

import org.nbdosgi.api.ConfigException;

/**
 * The TLS trust of {@code https://} URLs, as curl's {@code sslverify=}, {@code cainfo=} and
 * {@code capath=} set it: the JDK's default trust store; or the certificates of a PEM file and/or
 * every certificate file of a directory instead (the server's certificate must chain to one of
 * them and name the URL's host); or, with {@code sslverify=false}, no check at all. Control plane.
 */
final class Tls {
    private Tls() {
    }

    static SSLContext context(boolean verify, Path caFile, Path caDir) throws ConfigException {
        try {
            if (!verify) {
                SSLContext c = SSLContext.getInstance("TLS");
                c.init(null, new TrustManager[] {new TrustEverything()}, null);
                return c;
            }
            if (caFile == null && caDir == null) {
                return SSLContext.getDefault();
            }
            List<Certificate> cas = new ArrayList<>();
            if (caFile != null) {
                cas.addAll(read(caFile, "cainfo"));
                if (cas.isEmpty()) {
                    throw new ConfigException("cainfo: " + caFile + " holds no PEM certificate");
                }
            }
            if (caDir != null) {
                int before = cas.size();
                if (!Files.isDirectory(caDir)) {
                    throw new ConfigException("capath: " + caDir + " is not a directory");
                }
                try (Stream<Path> files = Files.list(caDir)) {
                    for (Path f : files.sorted().toList()) {
                        if (Files.isRegularFile(f)) {
                            cas.addAll(readIfCertificates(f));
                        }
                    }
                }
                if (cas.size() == before) {
                    throw new ConfigException("capath: " + caDir + " holds no PEM certificate");
                }
            }
            KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
            store.load(null, null);
            for (int i = 0; i < cas.size(); i++) {
                store.setCertificateEntry("ca" + i, cas.get(i));
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(store);
            SSLContext c = SSLContext.getInstance("TLS");
            c.init(null, tmf.getTrustManagers(), null);
            return c;
        } catch (GeneralSecurityException | IOException e) {
            throw new ConfigException("TLS: " + e.getMessage());
        }
    }

    private static List<Certificate> read(Path file, String key) throws ConfigException {
        try (InputStream in = Files.newInputStream(file)) {
            return new ArrayList<>(CertificateFactory.getInstance("X.509").generateCertificates(in));
        } catch (IOException | CertificateException e) {
            throw new ConfigException(key + ": cannot read certificates from " + file + ": " + e.getMessage());
        }
    }

    /** The certificates of a file in a CA directory; a file that holds none (a README, a CRL) is skipped. */
    private static List<Certificate> readIfCertificates(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            return new ArrayList<>(CertificateFactory.getInstance("X.509").generateCertificates(in));
        } catch (IOException | CertificateException e) {
            return List.of();
        }
    }

    /**
     * {@code sslverify=false}: any certificate, for any host name. It extends the X509Extended
     * type so the JDK leaves the host name check to it (and so skips it), as curl does with
     * verification off.
     */
    private static final class TrustEverything extends X509ExtendedTrustManager {
        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) {
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) {
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }
}

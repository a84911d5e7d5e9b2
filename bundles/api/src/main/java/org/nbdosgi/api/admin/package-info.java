/**
 * The management side of nbd-osgi, for tools and consoles, not for plugins and filters:
 * {@link ServerAdmin} (the engine's service: exports, rewires, connections, listeners),
 * {@link ServerMetrics} (the engine's metrics and the layers' own, for Prometheus, JMX and nbd:top),
 * {@link ExportSpec} (an export as a user writes it), and the snapshots it returns
 * ({@link ExportInfo}, {@link LayerInfo}, {@link ConnectionInfo}, {@link ExportState}).
 * Versioned on its own; bnd's baseline check guards it.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.1.0")
package org.nbdosgi.api.admin;

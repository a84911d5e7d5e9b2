/**
 * The nbd-osgi plugin and filter API, in the shape of nbdkit's callbacks: all a plugin or filter
 * bundle imports. (Tools and consoles use {@code org.nbdosgi.api.admin}.) Versioned semantically;
 * bnd's baseline check guards it.
 *
 * <p>Three lifetimes, each its own type:
 * <ol>
 *   <li>{@link Plugin} / {@link Filter}: an OSGi service per bundle, registered with the
 *       property {@value Plugin#NAME_PROPERTY}; describes its parameters and creates instances.</li>
 *   <li>{@link PluginInstance} / {@link FilterInstance}: one per export, from export start to stop;
 *       owns what all connections share and declares the {@link ThreadModel}.</li>
 *   <li>{@link Handle}: one per client connection and layer; capabilities and data operations.</li>
 * </ol>
 *
 * <p>Planes: service and instance methods run on the engine's control plane (serialized, may block).
 * {@link Handle} data methods run on the data plane: any virtual thread, concurrently as the
 * export's thread model allows; they never wait for the control plane.
 *
 * <p>Metrics: a layer may report its own through {@link PluginInstance#metrics} or
 * {@link FilterInstance#metrics} (a {@link MetricSink}, with {@link LatencyHistogram} for durations,
 * {@link CallLatency} for calls upstream); tools read them, with the engine's, through
 * {@code org.nbdosgi.api.admin.ServerMetrics}.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.1.0")
package org.nbdosgi.api;

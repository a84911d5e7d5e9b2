package org.nbdosgi.api.admin;

/** Where an export is in its life. */
public enum ExportState {
    /** Serving clients. */
    RUNNING,
    /** Waiting for a plugin or filter bundle to (re)appear; requests wait, up to a timeout. */
    PARKED,
    /** Could not start; the export's message says why. */
    FAILED
}

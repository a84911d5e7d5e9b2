/** What the interactive consoles (bundle org.nbdosgi.shell) share with the console's commands and socket. */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package org.nbdosgi.console.session;

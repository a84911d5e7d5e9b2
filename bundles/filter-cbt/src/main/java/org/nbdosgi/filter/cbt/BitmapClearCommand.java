package org.nbdosgi.filter.cbt;

import java.util.List;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/** {@code nbd:bitmap-clear EXPORT NAME}: every block clean again, typically once a backup has copied the dirty ones. */
@Component(service = BitmapClearCommand.class, property = {"osgi.command.scope=nbd", "osgi.command.function=bitmap-clear",
        "nbd.command.summary=marks every block of a dirty bitmap clean again (after a backup)"})
public final class BitmapClearCommand extends BitmapCommand {
    @Activate
    public BitmapClearCommand(@Reference LiveBitmaps live) {
        super(live, """
                nbd:bitmap-clear - marks every block of a dirty bitmap clean again (after a backup), and makes an inconsistent one usable
                usage: nbd:bitmap-clear EXPORT NAME""", 2, 2);
    }

    @Override
    String run(List<String> args) {
        live.of(args.get(0)).clear(args.get(1));
        return "bitmap " + args.get(1) + " of export " + CbtInstance.quoted(args.get(0)) + " cleared";
    }
}

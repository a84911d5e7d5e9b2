package org.nbdosgi.filter.cbt;

import java.util.List;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/** {@code nbd:bitmap-remove EXPORT NAME}: the bitmap is gone, from memory and from where it was kept. */
@Component(service = BitmapRemoveCommand.class, property = {"osgi.command.scope=nbd", "osgi.command.function=bitmap-remove",
        "nbd.command.summary=removes a dirty bitmap"})
public final class BitmapRemoveCommand extends BitmapCommand {
    @Activate
    public BitmapRemoveCommand(@Reference LiveBitmaps live) {
        super(live, """
                nbd:bitmap-remove - removes a dirty bitmap (clients reading it get ENOTSUP for it from then on)
                usage: nbd:bitmap-remove EXPORT NAME""", 2, 2);
    }

    @Override
    String run(List<String> args) throws Exception {
        live.of(args.get(0)).remove(args.get(1));
        return "bitmap " + args.get(1) + " removed from export " + CbtInstance.quoted(args.get(0));
    }
}

package org.nbdosgi.filter.cbt;

import java.util.List;

import org.nbdosgi.api.Extents;
import org.nbdosgi.api.Units;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/** {@code nbd:bitmap-add EXPORT NAME [GRANULARITY]}: a new dirty bitmap, clean, marking writes from now on. */
@Component(service = BitmapAddCommand.class, property = {"osgi.command.scope=nbd", "osgi.command.function=bitmap-add",
        "nbd.command.summary=a new dirty bitmap on an export with the cbt filter"})
public final class BitmapAddCommand extends BitmapCommand {
    private static final String NAME = "[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}";

    @Activate
    public BitmapAddCommand(@Reference LiveBitmaps live) {
        super(live, """
                nbd:bitmap-add - a new dirty bitmap on an export with the cbt filter, clean until something is written
                usage: nbd:bitmap-add EXPORT NAME [GRANULARITY]
                  NAME         letters, digits, _ . - (clients read it as qemu:dirty-bitmap:NAME)
                  GRANULARITY  the block one bit stands for, a power of 2 from 512 to 1G (default 64K)""", 2, 3);
    }

    @Override
    String run(List<String> args) throws Exception {
        String export = args.get(0);
        String name = args.get(1);
        if (!name.matches(NAME)) {
            throw new IllegalArgumentException("bitmap name '" + name + "': use letters, digits, _ . - (at most 255)");
        }
        int granularity = DirtyBitmap.DEFAULT_GRANULARITY;
        if (args.size() == 3) {
            long g = Units.parseSize(args.get(2));
            granularity = g > Integer.MAX_VALUE ? -1 : (int) g;
        }
        DirtyBitmap b = live.of(export).add(name, granularity);
        return "bitmap " + name + " added to export " + CbtInstance.quoted(export) + " (granularity "
                + Units.formatSize(b.granularity()) + "): clients read it as " + Extents.QEMU_DIRTY_BITMAP + name;
    }
}

"""`footfall generate`: a synthetic operator landing folder for Berlin, with ground truth.

Built on the real Berlin reference data (districts, localities, points of interest, residents by
district x gender x age). Writes, below the landing folder, what an operator would deliver:

    events/date=YYYY-MM-DD/part-00000.csv.gz ...   (or .parquet with --format parquet)
    subscribers/subscribers.csv                    CRM snapshot
    optouts/optouts.csv
    cells/cells.csv                                synthetic O2-like network plan (footfall.synthetic.network)
    zones/districts.geojson, localities.geojson, storefronts.geojson

and, apart from it (never read by the pipeline), the ground truth:

    visits/        Parquet: every true stay expanded to every zone that contains its position
    subscribers/   Parquet: true district, age, gender and kind of every subscriber
    report.json    exact counts of every injected fault, subscribers by kind, rows per file

Determinism: the driver draws the subscriber table and the network plan from the seed; the
executors generate each (subscriber, day) from a numpy generator seeded with (seed, stream,
subscriber index, date), so the output does not depend on partitioning or scheduling. Each
task writes one file; files are renamed to part-00000... and Spark's _SUCCESS/.crc files removed,
so the same seed gives byte-identical landing files. See docs/generator.md.

Modules: vocabulary (formats, faults, categories), reference (the Berlin data), zones, population
(subscribers and CRM), network (cell plan), world (days and what the executors get), days
(movement), events (event rows and faults), truth (ground truth), output (Spark plumbing) and job
(`footfall generate`).
"""

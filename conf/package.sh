#!/usr/bin/env bash
# Build the deployable package into dist/ (layout: docs/operations.md, "The package"):
#   footfall-<version>-py3-none-any.whl   the library
#   footfall-env.tar.gz                   venv-pack of a venv with the wheel and its pinned deps,
#                                         shipped to executors with --archives ...#env
#   env/                                  the same archive unpacked: the driver's Python in client mode
#   jars/  conf/  jobs/                   Sedona/Delta jars (--jars), config files, entry points
# pyspark is removed from the packed venv: the Spark installation that runs the job puts its own
# pyspark.zip and py4j on the PYTHONPATH of driver and executors, so the Python side always matches
# the cluster's JVM side, and the archive is 450 MB smaller. So is the analyst-only side (below).
set -euo pipefail
cd "$(dirname "$0")/.."
dist=${DIST:-dist}
build=build/package
py=${PYTHON:-python3}

rm -rf "$build" "$dist"
mkdir -p "$build" "$dist"

echo "== wheel"
.venv/bin/pip wheel -q --no-deps --wheel-dir "$dist" .

echo "== venv with the wheel (not editable) and its pinned dependencies"
"$py" -m venv "$build/env"
"$build/env/bin/pip" install -q --upgrade "pip==25.3"
"$build/env/bin/pip" install -q "$dist"/footfall-*.whl
# pyspark comes from the Spark installation (above). The analyst side (DuckDB with its delta and
# spatial extensions, matplotlib for `footfall report`) never runs in a Spark job: leaving it out
# halves the archive that the driver and every executor unpack per application.
# Analysts install the wheel itself (`pip install dist/footfall-*.whl`), which has everything.
"$build/env/bin/pip" uninstall -q -y pyspark duckdb duckdb-extension-delta duckdb-extension-spatial \
  matplotlib contourpy cycler fonttools kiwisolver pillow

echo "== venv-pack -> $dist/footfall-env.tar.gz"
# Level 1: the archive is unpacked once per executor and application; packing speed matters
# more than the last 10% of size.
.venv/bin/venv-pack -q -p "$build/env" -o "$dist/footfall-env.tar.gz" --compress-level 1
chmod 644 "$dist/footfall-env.tar.gz"  # venv-pack writes 600; the Spark user on the nodes must read it
mkdir "$dist/env"
tar -xzf "$dist/footfall-env.tar.gz" -C "$dist/env"

echo "== jars, conf, jobs"
mkdir "$dist/jars" "$dist/conf" "$dist/jobs"
while read -r jar; do cp ".jars/$jar" "$dist/jars/"; done < conf/jars.txt
cp conf/*.yaml "$dist/conf/"
cp jobs/*.py "$dist/jobs/"
cp conf/submit.sh "$dist/"
rm -rf "$build"
du -sh "$dist"/footfall-env.tar.gz "$dist/env" "$dist/jars" | sed 's/^/   /'
echo "package ready in $dist/"

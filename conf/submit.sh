#!/usr/bin/env bash
# spark-submit one footfall job with the package built by `make package` (docs/operations.md).
#
#   submit.sh JOB [JOB ARGS...]        e.g. submit.sh ingest --date 2026-03-14 --set paths.data_dir=/srv/ff
#
# Environment:
#   SPARK_MASTER        --master (default: spark.master of the config; one of them must be set)
#   SPARK_HOME          the Spark installation (default: the pinned pyspark next to dist/)
#   FOOTFALL_ENV        config environment (default cluster)
#   FOOTFALL_DIST       the package folder (default: this script's folder if it holds the package,
#                       else ../dist)
#   SUBMIT_OPTS         extra spark-submit options: sizing (--executor-memory 4g
#                       --total-executor-cores 16), --deploy-mode, --conf spark.kubernetes.* ...
#
# Every Spark setting footfall's session factory makes from the config (footfall.session.
# spark_settings: extensions, catalog, Kryo, warehouse, metastore, event log, spark.conf) is passed
# as --conf as well, so settings the driver JVM reads at launch (driver Java options, event log)
# take effect in client mode too.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [[ -n ${FOOTFALL_DIST:-} ]]; then dist=$(cd "$FOOTFALL_DIST" && pwd)
elif [[ -f $here/footfall-env.tar.gz ]]; then dist=$here
else dist=$(cd "$here/.." && pwd)/dist
fi
job=${1:?usage: submit.sh JOB [ARGS...] (jobs: $(ls "$dist/jobs" 2>/dev/null | sed 's/\.py$//' | tr '\n' ' '))}
shift
# A job name runs its entry point from the package; a path to a .py file runs that script with
# the same package (ad-hoc maintenance or diagnostics).
if [[ $job == *.py ]]; then entry=$job; job=$(basename "$job" .py); else entry=$dist/jobs/${job//-/_}.py; fi
[[ -f $dist/footfall-env.tar.gz ]] || { echo "no package in $dist: run \`make package\`" >&2; exit 69; }
[[ -f $entry ]] || { echo "no entry point $entry for job '$job'" >&2; exit 64; }

if [[ -z ${SPARK_HOME:-} ]]; then
  SPARK_HOME=$(ls -d "$dist"/../.venv/lib/python3*/site-packages/pyspark 2>/dev/null | head -1)
  [[ -n $SPARK_HOME ]] || { echo "set SPARK_HOME to the Spark installation" >&2; exit 69; }
fi
SPARK_HOME=$(cd "$SPARK_HOME" && pwd)
export SPARK_HOME FOOTFALL_ENV=${FOOTFALL_ENV:-cluster} FOOTFALL_CONF_DIR=${FOOTFALL_CONF_DIR:-$dist/conf}

# The driver runs the packaged interpreter; pyspark and py4j come from the Spark installation.
driver_python=$dist/env/bin/python
spark_pythonpath=$(ls "$SPARK_HOME"/python/lib/*.zip | tr '\n' ':')

# The config's Spark settings, NUL-separated key=value, then the master. Only --env, --conf-dir and
# --set of the job's arguments matter here; the job parses all of them again itself.
mapfile -d '' settings < <(PYTHONPATH=$spark_pythonpath "$driver_python" - "$@" <<'EOF'
import argparse, sys
from footfall.config import load_config, parse_override
from footfall.errors import FootfallError
from footfall.session import spark_settings

parser = argparse.ArgumentParser(add_help=False)
parser.add_argument("--env")
parser.add_argument("--conf-dir")
parser.add_argument("--set", dest="overrides", action="append", default=[])
args, _ = parser.parse_known_args(sys.argv[1:])
try:
    cfg = load_config(args.env, args.conf_dir, dict(parse_override(o) for o in args.overrides))
    settings = spark_settings(cfg)
except FootfallError as exc:
    print(f"footfall submit: {exc}", file=sys.stderr)
    sys.exit(exc.exit_code)
for key, value in settings.items():
    sys.stdout.write(f"{key}={value}\0")
sys.stdout.write(f"{cfg.spark.master or ''}\0")
EOF
)
[[ ${#settings[@]} -gt 0 ]] || exit 78
config_master=${settings[-1]}
unset 'settings[-1]'
master=${SPARK_MASTER:-$config_master}
[[ -n $master ]] || { echo "no master: set SPARK_MASTER (e.g. spark://127.0.0.1:7177 after \`make cluster-up\`) or spark.master in the config" >&2; exit 78; }
# A driver talking to a master on loopback must be reachable there too, and must not open its
# ports (RPC, block manager, UI) on other interfaces.
if [[ $master == spark://127.0.0.1:* || $master == local* ]]; then export SPARK_LOCAL_IP=${SPARK_LOCAL_IP:-127.0.0.1}; fi

conf_args=()
for kv in "${settings[@]}"; do
  [[ $kv == spark.app.name=* ]] && continue  # --name below says which job it is
  # the event log folder must exist before the SparkContext starts
  if [[ $kv == spark.eventLog.dir=* && ${kv#*=} != *://* ]]; then mkdir -p "${kv#*=}"; fi
  conf_args+=(--conf "$kv")
done
jars=$(ls "$dist"/jars/*.jar | tr '\n' ',')

# shellcheck disable=SC2086  # SUBMIT_OPTS is a list of options
exec "$SPARK_HOME/bin/spark-submit" \
  --master "$master" \
  --name "footfall-$job" \
  --archives "$dist/footfall-env.tar.gz#env" \
  --jars "${jars%,}" \
  --conf spark.pyspark.python=./env/bin/python \
  --conf spark.pyspark.driver.python="$driver_python" \
  "${conf_args[@]}" \
  ${SUBMIT_OPTS:-} \
  "$entry" "$@"

#!/usr/bin/env bash
# A Spark standalone cluster on 127.0.0.1 from the pinned pyspark: one master and N workers as
# separate JVMs, plus the Spark History Server. Logs and pid files live in $CLUSTER_DIR; `down`
# stops exactly the processes whose pids are recorded there (never by name).
#
#   cluster.sh up | down | status | worker-pid N | history-up | history-down
#
# Environment (defaults in brackets): CLUSTER_DIR [.data/cluster], MASTER_PORT [7177],
# MASTER_UI_PORT [8180], WORKERS [2], WORKER_PORT_BASE [7177: workers get 7178, 7179 ...],
# WORKER_UI_PORT_BASE [8180: UIs 8181, 8182 ...], WORKER_CORES [1], WORKER_MEMORY [1g],
# WORKER_TIMEOUT [60, as Spark: seconds without heartbeat before the master drops a worker],
# WORKER_CLEANUP_TTL [3600] and WORKER_CLEANUP_INTERVAL [600]: a finished application's folder on
# a worker (with its unpacked footfall-env, ~650 MB) is removed once nothing in it changed for TTL s,
# checked every INTERVAL s,
# HISTORY_UI_PORT [18180], EVENT_LOG_DIR [.data/spark-events], SPARK_HOME [the pinned pyspark].
# The ports sit away from Spark's defaults (7077/8080/18080) so a developer's own cluster or
# another test run does not collide with this one.
set -euo pipefail
cd "$(dirname "$0")/.."
CLUSTER_DIR=${CLUSTER_DIR:-.data/cluster}
MASTER_PORT=${MASTER_PORT:-7177}
MASTER_UI_PORT=${MASTER_UI_PORT:-8180}
WORKERS=${WORKERS:-2}
WORKER_PORT_BASE=${WORKER_PORT_BASE:-$MASTER_PORT}
WORKER_UI_PORT_BASE=${WORKER_UI_PORT_BASE:-$MASTER_UI_PORT}
WORKER_CORES=${WORKER_CORES:-1}
WORKER_MEMORY=${WORKER_MEMORY:-1g}
WORKER_TIMEOUT=${WORKER_TIMEOUT:-60}
WORKER_CLEANUP_TTL=${WORKER_CLEANUP_TTL:-3600}
WORKER_CLEANUP_INTERVAL=${WORKER_CLEANUP_INTERVAL:-600}
HISTORY_UI_PORT=${HISTORY_UI_PORT:-18180}
EVENT_LOG_DIR=${EVENT_LOG_DIR:-.data/spark-events}
if [[ -z ${SPARK_HOME:-} ]]; then SPARK_HOME=$(ls -d "$PWD"/.venv/lib/python3*/site-packages/pyspark | head -1); fi
export SPARK_HOME
# Every socket the JVMs open binds to loopback; nothing is reachable from outside the machine.
export SPARK_LOCAL_IP=127.0.0.1 SPARK_MASTER_HOST=127.0.0.1 SPARK_PUBLIC_DNS=127.0.0.1
MASTER_URL=spark://127.0.0.1:$MASTER_PORT

mkdir -p "$CLUSTER_DIR"
CLUSTER_DIR=$(cd "$CLUSTER_DIR" && pwd)

# pid of a component if its process is alive and still the JVM we started (pids get reused).
alive_pid() {
  local pidfile=$CLUSTER_DIR/$1.pid pid
  [[ -f $pidfile ]] || return 1
  pid=$(<"$pidfile")
  [[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q -- "$2" || return 1
  echo "$pid"
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start NAME CLASS PORTS... -- ARGS: a JVM via spark-class in the background; spark-class execs
# java, so $! is the JVM's pid.
start() {
  local name=$1 class=$2; shift 2
  local ports=() port
  while [[ $1 != -- ]]; do ports+=("$1"); shift; done
  shift
  if alive_pid "$name" "$class" > /dev/null; then return 0; fi
  for port in "${ports[@]}"; do
    port_free "$port" || { echo "$name: port $port on 127.0.0.1 is taken; set another (see $0)" >&2; exit 1; }
  done
  # setsid: a terminal's Ctrl-C or a test runner's timeout must not take the daemons with it
  nohup setsid "$SPARK_HOME/bin/spark-class" "$class" "$@" > "$CLUSTER_DIR/$name.log" 2>&1 < /dev/null &
  echo $! > "$CLUSTER_DIR/$name.pid"
  echo "$name started (pid $!, log $CLUSTER_DIR/$name.log)"
}

stop() {
  local name=$1 class=$2 pid i
  if pid=$(alive_pid "$name" "$class"); then
    kill "$pid"
    for i in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid"; fi
    echo "$name stopped (pid $pid)"
  fi
  rm -f "$CLUSTER_DIR/$name.pid"
}

alive_workers() {
  curl -sf "http://127.0.0.1:$MASTER_UI_PORT/json/" 2>/dev/null \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["aliveworkers"])' 2>/dev/null || echo 0
}

MASTER_CLASS=org.apache.spark.deploy.master.Master
WORKER_CLASS=org.apache.spark.deploy.worker.Worker
HISTORY_CLASS=org.apache.spark.deploy.history.HistoryServer

up() {
  # A worker that stops heart-beating is declared dead after WORKER_TIMEOUT s. 30 s dropped both
  # live workers of a 2-core machine at load 30-47, so the default stays at Spark's 60 s.
  SPARK_MASTER_OPTS="-Dspark.worker.timeout=$WORKER_TIMEOUT" \
  start master "$MASTER_CLASS" "$MASTER_PORT" "$MASTER_UI_PORT" -- \
    --host 127.0.0.1 --port "$MASTER_PORT" --webui-port "$MASTER_UI_PORT"
  local n
  for n in $(seq 1 "$WORKERS"); do
    if ! alive_pid "worker-$n" "$WORKER_CLASS" > /dev/null; then
      # a fresh worker: the previous one's application folders (each with an unpacked
      # footfall-env of ~500 MB) and scratch files are stale
      rm -rf "$CLUSTER_DIR/worker-$n/work" "$CLUSTER_DIR/worker-$n/local"
    fi
    mkdir -p "$CLUSTER_DIR/worker-$n/work" "$CLUSTER_DIR/worker-$n/local"
    # a finished application's folder is removed once it has had no executor here and no file
    # in it changed for WORKER_CLEANUP_TTL s
    SPARK_WORKER_OPTS="-Dspark.worker.cleanup.enabled=true -Dspark.worker.cleanup.interval=$WORKER_CLEANUP_INTERVAL \
-Dspark.worker.cleanup.appDataTtl=$WORKER_CLEANUP_TTL" \
    SPARK_LOCAL_DIRS=$CLUSTER_DIR/worker-$n/local start "worker-$n" "$WORKER_CLASS" \
      $((WORKER_PORT_BASE + n)) $((WORKER_UI_PORT_BASE + n)) -- \
      --host 127.0.0.1 --port $((WORKER_PORT_BASE + n)) --webui-port $((WORKER_UI_PORT_BASE + n)) \
      --cores "$WORKER_CORES" --memory "$WORKER_MEMORY" --work-dir "$CLUSTER_DIR/worker-$n/work" "$MASTER_URL"
  done
  local i
  for i in $(seq 1 120); do
    if [[ $(alive_workers) -ge $WORKERS ]]; then
      echo "cluster up: $MASTER_URL with $WORKERS workers, UI http://127.0.0.1:$MASTER_UI_PORT"
      return 0
    fi
    alive_pid master "$MASTER_CLASS" > /dev/null || { echo "master died: see $CLUSTER_DIR/master.log" >&2; exit 1; }
    sleep 0.5
  done
  echo "workers did not register within 60 s: see $CLUSTER_DIR/*.log" >&2
  exit 1
}

down() {
  local pidfile name
  for pidfile in "$CLUSTER_DIR"/worker-*.pid; do
    [[ -e $pidfile ]] || continue
    name=$(basename "$pidfile" .pid)
    stop "$name" "$WORKER_CLASS"
  done
  stop master "$MASTER_CLASS"
}

status() {
  local n pid rc=0
  if pid=$(alive_pid master "$MASTER_CLASS"); then echo "master   pid $pid  $MASTER_URL"; else echo "master   down"; rc=1; fi
  for n in $(seq 1 "$WORKERS"); do
    if pid=$(alive_pid "worker-$n" "$WORKER_CLASS"); then echo "worker-$n pid $pid"; else echo "worker-$n down"; rc=1; fi
  done
  echo "registered workers: $(alive_workers)"
  [[ $(alive_workers) -ge $WORKERS ]] || rc=1
  return $rc
}

history_up() {
  mkdir -p "$EVENT_LOG_DIR"
  local dir
  dir=$(cd "$EVENT_LOG_DIR" && pwd)
  SPARK_HISTORY_OPTS="-Dspark.history.fs.logDirectory=file://$dir -Dspark.history.ui.port=$HISTORY_UI_PORT \
-Dspark.history.fs.update.interval=2s" \
    start history "$HISTORY_CLASS" "$HISTORY_UI_PORT" --
  local i
  for i in $(seq 1 60); do
    if curl -sf "http://127.0.0.1:$HISTORY_UI_PORT/api/v1/applications" > /dev/null; then
      echo "history server: http://127.0.0.1:$HISTORY_UI_PORT reading $dir"
      return 0
    fi
    sleep 0.5
  done
  echo "history server did not answer within 30 s: see $CLUSTER_DIR/history.log" >&2
  exit 1
}

case ${1:-} in
  up) up ;;
  down) down ;;
  status) status ;;
  worker-pid) alive_pid "worker-${2:?worker number}" "$WORKER_CLASS" ;;
  history-up) history_up ;;
  history-down) stop history "$HISTORY_CLASS" ;;
  *) echo "usage: $0 up|down|status|worker-pid N|history-up|history-down" >&2; exit 64 ;;
esac

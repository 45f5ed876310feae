#!/usr/bin/env bash
# Resolve the Sedona and Delta jars (conf/pom.xml) into $1, then drop every jar whose artifact
# pyspark already ships (any version): two copies of a class on the classpath break at run time.
# Writes the resulting file names to conf/jars.txt, which is committed so a change shows in review.
set -euo pipefail
dest=$1
pyspark_jars=$2
rm -rf "$dest.tmp"
mvn -q -B -f conf/pom.xml package -Djars.dir="$PWD/$dest.tmp"
for jar in "$dest.tmp"/*.jar; do
  name=$(basename "$jar" .jar)
  artifact=$(echo "$name" | sed -E 's/-[0-9][^-]*(-[0-9][^-]*)?$//')
  # a glob, not `ls | grep -q`: with pipefail, grep's early exit can fail the pipe at random
  if compgen -G "$pyspark_jars/${artifact}-[0-9]*" > /dev/null; then rm "$jar"; fi
done
rm -rf "$dest" && mv "$dest.tmp" "$dest"
ls "$dest" | grep '\.jar$' > conf/jars.txt
echo "jars resolved into $dest: $(wc -l < conf/jars.txt) files (list in conf/jars.txt)"

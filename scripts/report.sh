#!/usr/bin/env bash
# Writes the report of a first-token output: PNG charts (pre-fill time vs prompt length, attention
# density histogram, pattern heat map) and index.html, in Spark local mode on this machine.
#
#   scripts/report.sh                       # the demo's output: demo-output/report/index.html
#   scripts/report.sh --input OUT.parquet [--patterns CONFIG.json] [--report-dir DIR] [--conf K=V ...]
#
# On a cluster, run the same main class from the job's shaded jar instead:
#   spark-submit --class io.prefill.job.report.ReportMain job/target/job-<version>-spark.jar --input ...
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -eq 0 ]; then
  set -- --input demo-output/first-tokens.parquet --patterns pattern-configs/needle-llama.json \
         --report-dir demo-output/report
fi

if [ ! -f job/target/classes/io/prefill/job/report/ReportMain.class ]; then
  echo "[report] building (mvn install -DskipTests) ..."
  mvn -B -q -DskipTests install
fi
classpath_file=job/target/report.classpath
if [ ! -s "$classpath_file" ] || [ job/pom.xml -nt "$classpath_file" ]; then
  mvn -B -q -f job/pom.xml dependency:build-classpath -Dmdep.includeScope=compile \
      -Dmdep.outputFile=target/report.classpath
fi

# Spark on Java 17 needs these opens (the list spark-submit passes; pom.xml's spark.test.jvm.opens).
opens=(--add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.lang.invoke=ALL-UNNAMED
  --add-opens=java.base/java.lang.reflect=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED
  --add-opens=java.base/java.net=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED
  --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED
  --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED
  --add-opens=java.base/sun.nio.cs=ALL-UNNAMED --add-opens=java.base/sun.security.action=ALL-UNNAMED
  --add-opens=java.base/sun.util.calendar=ALL-UNNAMED -Djdk.reflect.useDirectMethodHandle=false
  -Dio.netty.tryReflectionSetAccessible=true)

# This checkout's classes first, ahead of whatever gpu-udf snapshot the local Maven repository holds.
exec java -Xmx4g -Djava.awt.headless=true "${opens[@]}" \
  -Dlog4j2.configurationFile=job/src/main/resources/demo-log4j2.properties \
  -cp "job/target/classes:gpu-udf/target/classes:$(cat "$classpath_file")" \
  io.prefill.job.report.ReportMain --master 'local[2]' --conf spark.ui.enabled=false \
  --conf spark.sql.shuffle.partitions=2 "$@"

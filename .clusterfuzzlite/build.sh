#!/bin/bash -eu
# ClusterFuzzLite build: the same as OSS-Fuzz's (oss-fuzz/build.sh), on the
# checkout the Dockerfile copied to $SRC/ziggyalloc.
exec "$SRC/ziggyalloc/oss-fuzz/build.sh"

#!/usr/bin/env python3
"""Offline check of the ClusterFuzzLite setup (run by .clusterfuzzlite/check.sh).

- .github/workflows/cflite_pr.yml and cflite_batch.yml parse as YAML, and each
  job builds with google/clusterfuzzlite/actions/build_fuzzers@v1 (language
  c++) and then runs google/clusterfuzzlite/actions/run_fuzzers@v1 with the
  same sanitizer; PR fuzzing covers address and undefined in mode
  'code-change', batch fuzzing runs in mode 'batch'.
- .clusterfuzzlite/Dockerfile builds from the checkout (COPY . $SRC/ziggyalloc,
  no git clone, so no URL) and .clusterfuzzlite/build.sh runs oss-fuzz/build.sh.

Exits 1 with one line per problem. Needs PyYAML (Debian's python3-yaml).
"""
import os
import sys

import yaml

ROOT = os.environ.get("CFLITE_CHECK_ROOT") or os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))
BUILD = "google/clusterfuzzlite/actions/build_fuzzers@v1"
RUN = "google/clusterfuzzlite/actions/run_fuzzers@v1"
problems = []


def check_workflow(name, mode, sanitizers):
    path = os.path.join(ROOT, ".github", "workflows", name)
    try:
        with open(path) as f:
            doc = yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as e:
        problems.append(f"{name}: {e}")
        return
    if not isinstance(doc, dict) or not doc.get("jobs"):
        problems.append(f"{name}: no jobs")
        return
    # YAML 1.1 reads the key 'on' as True.
    if not (doc.get("on") or doc.get(True)):
        problems.append(f"{name}: no trigger ('on')")
    for job_name, job in doc["jobs"].items():
        steps = job.get("steps", [])
        uses = [s.get("uses") for s in steps]
        if BUILD not in uses or RUN not in uses or uses.index(BUILD) > uses.index(RUN):
            problems.append(f"{name}/{job_name}: needs {BUILD} then {RUN}, has {uses}")
            continue
        build = steps[uses.index(BUILD)].get("with", {})
        run = steps[uses.index(RUN)].get("with", {})
        if build.get("language") != "c++":
            problems.append(f"{name}/{job_name}: build language is {build.get('language')!r}")
        if run.get("mode") != mode:
            problems.append(f"{name}/{job_name}: run mode is {run.get('mode')!r}, not {mode!r}")
        if build.get("sanitizer") != run.get("sanitizer") or not build.get("sanitizer"):
            problems.append(f"{name}/{job_name}: build and run sanitizers differ")
        matrix = job.get("strategy", {}).get("matrix", {}).get("sanitizer", [])
        missing = [s for s in sanitizers if s not in matrix]
        if missing:
            problems.append(f"{name}/{job_name}: sanitizer matrix {matrix} lacks {missing}")
        if not isinstance(run.get("fuzz-seconds"), int) or run["fuzz-seconds"] <= 0:
            problems.append(f"{name}/{job_name}: fuzz-seconds is {run.get('fuzz-seconds')!r}")


def check_build_files():
    cfl = os.path.join(ROOT, ".clusterfuzzlite")
    with open(os.path.join(cfl, "Dockerfile")) as f:
        docker = [l.split("#")[0].split() for l in f]
    docker = [l for l in docker if l]
    if ["COPY", ".", "$SRC/ziggyalloc"] not in docker:
        problems.append(".clusterfuzzlite/Dockerfile: no 'COPY . $SRC/ziggyalloc'")
    if any("clone" in l for l in docker):
        problems.append(".clusterfuzzlite/Dockerfile: clones a repository (needs none)")
    with open(os.path.join(cfl, "build.sh")) as f:
        if "oss-fuzz/build.sh" not in f.read():
            problems.append(".clusterfuzzlite/build.sh: does not run oss-fuzz/build.sh")
    with open(os.path.join(cfl, "project.yaml")) as f:
        if (yaml.safe_load(f) or {}).get("language") != "c++":
            problems.append(".clusterfuzzlite/project.yaml: language is not c++")


check_workflow("cflite_pr.yml", "code-change", ["address", "undefined"])
check_workflow("cflite_batch.yml", "batch", ["address"])
check_build_files()
for p in problems:
    print("!! " + p)
if problems:
    sys.exit(1)
print("   ClusterFuzzLite: workflows and build files ok")

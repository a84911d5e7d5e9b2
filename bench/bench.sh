#!/usr/bin/env bash
# The foundation benchmark: the same fio workloads (ioengine=nbd over a Unix socket) against
# `nbd-osgi memory 1G` and `nbdkit memory 1G`, in one run, with each workload's throughput ratio.
# Each server is filled with data first, so reads move data, not holes. The servers alternate for
# ROUNDS rounds (default 3) and each figure is the median, so a burst of load elsewhere on the
# machine moves one sample, not the result.
# Ends with PASS or FAIL against the bar (ratio >= 0.8 on every workload).
# Usage: bench/bench.sh   (RUNTIME=seconds per workload, default 10; ROUNDS, default 3)
source "$(dirname "$0")/lib.sh"
memory_workloads "workload" memory 1G

#!/usr/bin/env bash
# The checks that need a GPU, for a session lent one (the `device` tool); see DEVELOPERS.md.
# Here, first:   ../shared/tools/device-kit/prepare.sh phonopy spglib netCDF4 h5netcdf
# Then one run:  run(command=". .device-kit/on-device.sh > $OUT/setup.log 2>&1; bash .ci/device-check.sh",
#                    carry=[".device-kit"], timeout_s=480)
# (all sections take about 15 minutes at their limits: give a section name, md-train or sqw,
# as the argument to run one: bash .ci/device-check.sh sqw)
# It writes its logs into $OUT: the kit's smoke test (real gpumd vs CPUNEP), the gpu-marked tests
# (real gpumd and nep), the GPU figures of benchmarks/bench_md.py and bench_train.py, and the
# S(q,w) engine on the GPU (benchmarks/bench_sqw_gpu.py).
set -u
OUT=${OUT:-/tmp/mdinsim-device}
mkdir -p "$OUT"
# The tests find the Si model under $MDINSIM_SHARED/data/nep, as they do in ../shared here.
mkdir -p /tmp/shared/data/nep
cp .device-kit/Si_2022_NEP4_3body.txt /tmp/shared/data/nep/
export MDINSIM_SHARED=/tmp/shared
command -v gpumd nep | tee "$OUT/executables.log"
SECTION=${1:-all}
if [ "$SECTION" = all ] || [ "$SECTION" = md-train ]; then
timeout 60 python3 .device-kit/smoke-test.py 2>&1 | tee "$OUT/smoke.log"
timeout 240 python3 -m pytest -m gpu -v -p no:cacheprovider tests/md/test_gpumd.py \
    tests/train/test_gpumd_backend.py 2>&1 | tee "$OUT/gpu-tests.log"
timeout 90 python3 benchmarks/bench_md.py --model /tmp/shared/data/nep/Si_2022_NEP4_3body.txt \
    --steps 100 --trials 1 --gpumd-repeat 20 --gpumd-steps 2000 2>&1 | tee "$OUT/bench_md.log"
timeout 90 python3 benchmarks/bench_train.py --structures 50 --steps 20 \
    --nep-generations 2000 2>&1 | tee "$OUT/bench_train.log"
# GPUMD runs as Dask tasks asking for GPU=1 (local:1 offers one GPU per worker): one short run of
# the real gpumd through the cluster path; its summary must report the gpumd backend.
python3 - > "$OUT/dask-gpumd.log" 2>&1 <<'PY'
from ase.build import bulk
from ase.io import write
from mantid_mdinsim.md import run_md
write("/tmp/si.xyz", bulk("Si", "diamond", a=5.43, cubic=True), format="extxyz")
result = run_md(structure="/tmp/si.xyz", model="/tmp/shared/data/nep/Si_2022_NEP4_3body.txt",
                output_dir="/tmp/dask-gpumd", temperature_k=[300.0], number_of_runs=2,
                supercell=[4, 4, 4], production_time_ps=2.0, backend="gpumd",
                max_frequency_mev=65.0, scheduler="local:1")
print("backend", result.backend, "U", result.mean_squared_displacement_angstrom2)
PY
tail -3 "$OUT/dask-gpumd.log"
fi
if [ "$SECTION" = all ] || [ "$SECTION" = sqw ]; then
# S(q,w) on the GPU (torch engine): the engine tests on CUDA hardware, the issue's case
# (8,000 atoms x 606 q x 300 frames, coherent + incoherent, whole process; goal <= 3 s, dynasor
# 27 s) and the agreement of the GPU outputs (fp64, fp32) with the numba engine on the CPU.
timeout 120 python3 -m pytest -q -p no:cacheprovider tests/sqw/test_engines.py \
    tests/io/test_trajectory_netcdf.py 2>&1 | tee "$OUT/sqw-tests.log"
timeout 200 python3 benchmarks/bench_sqw_gpu.py --with-dynasor 2>&1 | tee "$OUT/bench_sqw_gpu.log"
# The real gpumd writing NetCDF (dump_netcdf) into sqw: only where this gpumd was built with
# NetCDF (USE_NETCDF; the kit's build has no netcdf-c, so this says so and skips).
if grep -q "dump_netcdf no longer takes" "$(command -v gpumd)" 2>/dev/null; then
    timeout 120 python3 -m pytest -m gpu -q -p no:cacheprovider tests/md/test_gpumd.py \
        -k netcdf 2>&1 | tee "$OUT/gpumd-netcdf.log"
else
    echo "gpumd was built without NetCDF (USE_NETCDF): dump_netcdf not checked" \
        | tee "$OUT/gpumd-netcdf.log"
fi
fi

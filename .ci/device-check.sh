#!/usr/bin/env bash
# The checks that need a GPU, for a session lent one (the `device` tool); see DEVELOPERS.md.
# Here, first:   ../shared/tools/device-kit/prepare.sh phonopy spglib netCDF4 h5netcdf ducc0
#                bash .ci/device-check.sh netcdf-headers   # netcdf.h for a gpumd with dump_netcdf
# Then one run:  run(command=". .device-kit/on-device.sh > $OUT/setup.log 2>&1; bash .ci/device-check.sh",
#                    carry=[".device-kit"], timeout_s=480)
# (all sections take about 15 minutes at their limits: give a section name, md-train, sqw or
# reader, as the argument to run one: bash .ci/device-check.sh sqw)
# It writes its logs into $OUT: the kit's smoke test (real gpumd vs CPUNEP), the gpu-marked tests
# (real gpumd and nep), the GPU figures of benchmarks/bench_md.py and bench_train.py, and the
# S(q,w) engine on the GPU (benchmarks/bench_sqw_gpu.py), and the extended-XYZ reader against
# that machine's disk on its 16 cores (benchmarks/bench_xyz_reader.py: on this 2-core VM it
# needs more cores than there are to read at the disk's pace).
set -u
if [ "${1:-}" = netcdf-headers ]; then
    # Here (with network): netCDF-C's headers into .device-kit/netcdf-include; the device builds
    # a second gpumd with USE_NETCDF against the libnetcdf that the netCDF4 wheel bundles.
    mkdir -p .device-kit/netcdf-include && work=$(mktemp -d) \
        && (cd "$work" && apt-get download libnetcdf-dev && dpkg-deb -x libnetcdf-dev_*.deb x) \
        && cp "$work"/x/usr/include/netcdf.h "$work"/x/usr/include/netcdf_meta.h \
            .device-kit/netcdf-include/ && rm -rf "$work" && ls .device-kit/netcdf-include
    exit $?
fi
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
# 27 s), every output of that case on the GPU (fp64) against the numba engine on the CPU (goal
# 1e-10), and the agreement of fp64 and fp32 on a smaller case.
timeout 120 python3 -m pytest -q -p no:cacheprovider tests/sqw/test_engines.py \
    tests/io/test_trajectory_netcdf.py 2>&1 | tee "$OUT/sqw-tests.log"
timeout 260 python3 benchmarks/bench_sqw_gpu.py --with-dynasor 2>&1 | tee "$OUT/bench_sqw_gpu.log"
# The real gpumd writing NetCDF (dump_netcdf) into sqw. The kit's gpumd has no NetCDF: a second
# build with USE_NETCDF, netcdf.h from .device-kit/netcdf-include (netcdf-headers above) and the
# libnetcdf of the netCDF4 wheel, first on PATH for this test (about 40 s on 16 cores).
GPUMD_NC=/tmp/gpumd-netcdf
NCLIB=$(python3 -c "import netCDF4, pathlib; print(next((pathlib.Path(netCDF4.__file__).parent.parent / 'netcdf4.libs').glob('libnetcdf-*.so*')))" 2>/dev/null)
if [ -f .device-kit/netcdf-include/netcdf.h ] && [ -n "$NCLIB" ] && [ -d /tmp/gpumd-5.6 ]; then
    timeout 240 bash -c "cmake -S /tmp/gpumd-5.6 -B $GPUMD_NC -G Ninja -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_CUDA_ARCHITECTURES=native \
        -DCMAKE_CUDA_FLAGS='-DUSE_NETCDF -I$PWD/.device-kit/netcdf-include' \
        -DCMAKE_CXX_FLAGS='-DUSE_NETCDF -I$PWD/.device-kit/netcdf-include' \
        -DCMAKE_CUDA_STANDARD_LIBRARIES='$NCLIB' -DCMAKE_CXX_STANDARD_LIBRARIES='$NCLIB' \
        -DCMAKE_EXE_LINKER_FLAGS='-Wl,-rpath,$(dirname "$NCLIB")' \
        && cmake --build $GPUMD_NC -j $(nproc) --target gpumd" > "$OUT/gpumd-netcdf-build.log" 2>&1
    tail -3 "$OUT/gpumd-netcdf-build.log"
fi
if [ -x "$GPUMD_NC/gpumd" ]; then
    MDINSIM_GPUMD="$GPUMD_NC/gpumd" PATH="$GPUMD_NC:$PATH" timeout 120 python3 -m pytest -m gpu -q -p no:cacheprovider \
        tests/md/test_gpumd.py -k netcdf 2>&1 | tee "$OUT/gpumd-netcdf.log"
elif grep -q "dump_netcdf no longer takes" "$(command -v gpumd)" 2>/dev/null; then
    timeout 120 python3 -m pytest -m gpu -q -p no:cacheprovider tests/md/test_gpumd.py \
        -k netcdf 2>&1 | tee "$OUT/gpumd-netcdf.log"
else
    echo "no gpumd built with NetCDF (USE_NETCDF; see gpumd-netcdf-build.log): dump_netcdf" \
        "not checked" | tee "$OUT/gpumd-netcdf.log"
fi
fi
if [ "$SECTION" = all ] || [ "$SECTION" = reader ]; then
# The reader on 1, 2 and 4 threads (MAX_PARSE_THREADS) against the disk, cold and warm, on a
# 180 MB file of 1000 atoms x 4000 frames (written first, ~20 s), and three fresh processes'
# one cold pass each (as mdinsim sqw reads); about 70 s in all.
timeout 150 python3 benchmarks/bench_xyz_reader.py --frames 4000 --repeats 3 --no-others \
    --threads 1,2,4 --fresh-repeats 3 2>&1 | tee "$OUT/bench_xyz_reader.log"
fi

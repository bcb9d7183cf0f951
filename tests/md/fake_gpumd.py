"""A stand-in for GPUMD 5.6's ``gpumd`` executable in tests (no GPU here).

It reads run.in and model.xyz the way gpumd does (``potential``, ``time_step``, ``velocity``,
``ensemble``, ``dump_thermo``, ``dump_xyz``, ``dump_restart``, ``run``; one block per ``run``)
and writes thermo.out (GPUMD 5.6 header blocks), dump.xyz (``Time=`` in fs restarting at 0 in
each process, as gpumd's global time does) and restart.xyz in GPUMD's formats. The atoms move
on a known analytic path so that tests have an independent reference:

    x_i(t) = x_i(0) + A sin(omega t + 2 pi i / N),   A = 0.1 Angstrom,

with omega = 5 periods over the production run, so the mean-squared displacement about the
mean positions is exactly A^2 / 2 = 0.005 Angstrom^2 for every atom (the phases cancel the
centre of mass).

Environment: FAKE_GPUMD_MODE = ok (default) | fail (exit 1 with an error message) |
silent (exit 0, write nothing) | runaway (production temperatures of 1e10 times the target); FAKE_GPUMD_CRASH_AFTER = a production step after which it
dies (exit 137) leaving half a frame behind.
"""

import math
import os
import sys

AMPLITUDE = 0.1


def parse_run_in(path):
    blocks, current = [], {"dump": None, "thermo": None, "restart": None}
    settings = {"dt": 1.0, "T": 300.0}
    with open(path) as handle:
        for line in handle:
            words = line.split()
            if not words:
                continue
            key, values = words[0], words[1:]
            if key == "time_step":
                settings["dt"] = float(values[0])
            elif key == "velocity":
                settings["T"] = float(values[0])
            elif key == "ensemble":
                current["ensemble"] = values
            elif key == "dump_thermo":
                current["thermo"] = int(values[0])
            elif key == "dump_xyz":
                # The syntax of current GPUMD sources (src/measure/dump_xyz.cu), whose message
                # mantid_mdinsim.md.gpumd.dump_xyz_syntax finds in this file.
                if len(values) >= 3 and values[0].lstrip("-").isdigit() and values[1].isdigit():
                    print("Error: dump_xyz no longer takes <grouping_method> <group_id> as its "
                          "first two parameters.")
                    sys.exit(1)
                current["dump"] = (int(values[0]), values[1], "velocity" in values[2:])
            elif key == "dump_netcdf":
                # dump_netcdf <interval> <file> [precision single|double] [velocity]
                current["dump"] = (int(values[0]), values[1], "velocity" in values[2:])
                current["netcdf"] = "single" if "single" in values[2:] else "double"
            elif key == "dump_restart":
                current["restart"] = int(values[0])
            elif key == "run":
                current["steps"] = int(values[0])
                blocks.append(current)
                current = {"dump": None, "thermo": None, "restart": None}
            elif key not in ("potential",):
                print(f"Error: keyword {key} is unknown to this fake gpumd")
                sys.exit(1)
    return settings, blocks


def read_model():
    with open("model.xyz") as handle:
        n = int(handle.readline())
        comment = handle.readline()
        atoms = [handle.readline().split() for _ in range(n)]
    lattice = comment.split('attice="')[1].split('"')[0].split()
    fake = {}
    for key in ("fake_time", "fake_omega"):
        if key + "=" in comment:
            fake[key] = float(comment.split(key + "=")[1].split()[0])
    return atoms, [float(x) for x in lattice], fake


class NetcdfDump:
    """dump_netcdf's layout (src/measure/dump_netcdf.cu): NetCDF-3 64-bit offset, AMBER
    conventions, time in ps, cell lengths and angles, a per-frame type (the index of the
    species in nep.txt's header), coordinates; synced after every frame."""

    def __init__(self, name, symbols, lattice, precision, velocities):
        import netCDF4

        with open("nep.txt") as handle:
            header = handle.readline().split()
        elements = header[2:2 + int(header[1])]
        self.types = [elements.index(s) for s in symbols]
        self.lengths = [math.sqrt(sum(v * v for v in lattice[3 * k:3 * k + 3])) for k in range(3)]
        self.velocities = velocities
        data = self.data = netCDF4.Dataset(name, "w", format="NETCDF3_64BIT_OFFSET")
        data.program, data.programVersion = "GPUMD", "5.6"
        data.Conventions, data.ConventionVersion = "AMBER", "1.0"
        for dim, size in (("frame", None), ("spatial", 3), ("atom", len(symbols)),
                          ("cell_spatial", 3), ("cell_angular", 3), ("label", 10)):
            data.createDimension(dim, size)
        real = "f4" if precision == "single" else "f8"
        data.createVariable("time", "f8", ("frame",)).units = "picosecond"
        data.createVariable("cell_lengths", "f8", ("frame", "cell_spatial")).units = "angstrom"
        data.createVariable("cell_angles", "f8", ("frame", "cell_angular")).units = "degree"
        data.createVariable("type", "i4", ("frame", "atom"))
        data.createVariable("coordinates", real, ("frame", "atom", "spatial")).units = "angstrom"
        if velocities:
            data.createVariable("velocities", real, ("frame", "atom", "spatial")).units = (
                "angstrom/picosecond")
        self.frames = 0

    def write(self, global_time_fs, positions):
        data, frame = self.data, self.frames
        data.variables["time"][frame] = global_time_fs / 1000.0
        data.variables["cell_lengths"][frame] = self.lengths    # the fake's boxes are orthogonal
        data.variables["cell_angles"][frame] = [90.0, 90.0, 90.0]
        data.variables["type"][frame] = self.types
        data.variables["coordinates"][frame] = positions
        if self.velocities:
            data.variables["velocities"][frame] = [[0.0, 0.0, 0.0]] * len(positions)
        data.sync()
        self.frames += 1

    def flush(self):
        self.data.sync()

    def close(self):
        self.data.close()


def main():
    mode = os.environ.get("FAKE_GPUMD_MODE", "ok")
    print("Started running GPUMD (fake).")
    if mode == "fail":
        print("Error: the potential file nep.txt names a species absent from model.xyz")
        return 1
    if mode == "silent":
        return 0
    crash_after = int(os.environ.get("FAKE_GPUMD_CRASH_AFTER", "-1"))
    settings, blocks = parse_run_in("run.in")
    atoms, lattice, fake = read_model()
    time0 = fake.get("fake_time", 0.0)
    symbols = [a[0] for a in atoms]
    x0 = [[float(v) for v in a[1:4]] for a in atoms]
    n = len(atoms)
    dt = settings["dt"]
    production = blocks[-1]
    # Five periods over the whole production run; a resumed segment continues the same path.
    omega = fake.get("fake_omega", 2 * math.pi * 5 / (production["steps"] * dt))
    if "fake_time" in fake:  # resumed from restart.xyz: recover the reference positions
        x0 = [[x[0] - AMPLITUDE * math.sin(omega * time0 + 2 * math.pi * i / n), x[1], x[2]]
              for i, x in enumerate(x0)]
    global_time = 0.0
    production_start_fs = sum(b["steps"] for b in blocks[:-1]) * dt
    lattice_text = " ".join(f"{v:.8f}" for v in lattice)
    for index, block in enumerate(blocks):
        is_production = index == len(blocks) - 1
        thermo = open("thermo.out", "a") if block["thermo"] else None
        if thermo:
            path_integral = block["ensemble"][0] in ("pimd", "trpmd")
            columns = "T_target KE_quantum PE" if path_integral else "T KE PE"
            thermo.write(f"# dump_thermo {block['thermo']}\n# format_version 1\n# num_atoms {n}\n"
                         f"# dt_output {block['thermo'] * dt:.10e} fs\n"
                         f"# columns {columns} sxx syy szz syz sxz sxy ax ay az bx by bz cx cy cz\n")
        netcdf = block.get("netcdf")
        dump = None
        if block["dump"] and netcdf:
            dump = NetcdfDump(block["dump"][1], symbols, lattice, netcdf, block["dump"][2])
        elif block["dump"]:
            dump = open(block["dump"][1], "a")
        for step in range(block["steps"]):
            global_time += dt
            t = time0 + global_time - (production_start_fs if is_production else 0.0)
            if thermo and (step + 1) % block["thermo"] == 0:
                kinetic = 1.5 * n * 8.617333e-5 * settings["T"]
                potential = -4.6 * n + 0.001 * math.sin(step)
                temperature = settings["T"]
                if mode == "runaway" and is_production:   # a run that blows up
                    temperature *= 1e10
                row = [temperature, kinetic, potential, 0.1, 0.1, 0.1, 0, 0, 0] + lattice
                thermo.write("".join(f"{v:20.10e}" for v in row) + "\n")
            positions = []
            for i, x in enumerate(x0):
                shift = AMPLITUDE * math.sin(omega * t + 2 * math.pi * i / n) if is_production else 0
                positions.append([x[0] + shift, x[1], x[2]])
            if netcdf and dump and (step + 1) % block["dump"][0] == 0:
                dump.write(global_time, positions)
            elif dump and (step + 1) % block["dump"][0] == 0:
                properties = "species:S:1:pos:R:3" + (":vel:R:3" if block["dump"][2] else "")
                dump.write(f"{n}\nTime={global_time:.8f} pbc=\"T T T\" Lattice=\"{lattice_text}\" "
                           f"energy=-1.0 Properties={properties}\n")
                for i, (s, p) in enumerate(zip(symbols, positions)):
                    extra = " 0.0 0.0 0.0" if block["dump"][2] else ""
                    dump.write(f"{s} {p[0]:.8f} {p[1]:.8f} {p[2]:.8f}{extra}\n")
                dump.flush()
            if block["restart"] and (step + 1) % block["restart"] == 0:
                with open("restart.xyz", "w") as restart:
                    restart.write(f"{n}\npbc=\"T T T\" Lattice=\"{lattice_text}\" fake_time={t:.10f} "
                                  f"fake_omega={omega:.15e} "
                                  "Properties=species:S:1:pos:R:3:mass:R:1:vel:R:3\n")
                    for s, p in zip(symbols, positions):
                        restart.write(f"{s} {p[0]:.10f} {p[1]:.10f} {p[2]:.10f} 28.085 0 0 0\n")
            if is_production and step + 1 == crash_after:
                if dump and not netcdf:
                    dump.write(f"{n}\nTime={global_time + dt:.8f} pbc=\"T T T\"\n{symbols[0]} 0.0")
                    dump.flush()
                print("Killed (fake crash)")
                os._exit(137)
        if thermo:
            thermo.close()
        if dump:
            dump.close()
    print("Finished running GPUMD (fake).")
    return 0


if __name__ == "__main__":
    sys.exit(main())

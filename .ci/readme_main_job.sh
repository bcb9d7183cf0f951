#!/usr/bin/env bash
# CI: run the README's main job (the code block after <!-- ci:main -->) exactly as written, in a
# fresh temporary folder, after the set-up command has made .venv; then check what it wrote:
# a report (report.json) whose figure is a PNG, whose spectra files are Mantid processed NeXus
# files that mdinsim reads back, with at least one peak found, and nothing taken from ../shared.
set -euo pipefail
repository="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repository"

main_command=$(awk '
    index($0, "<!-- ci:main -->") { found = 1; next }
    found && /^```/ { if (inside) exit; inside = 1; next }
    inside { print }
' README.md)
[ -n "$main_command" ] || { echo "README has no ci:main block" >&2; exit 1; }
[ -x .venv/bin/python ] || { echo "no .venv: run the README's set-up command first" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The job runs where a newcomer would run it: beside the virtual environment, in a folder of its
# own; ../shared does not exist from there and MDINSIM_SHARED points nowhere.
ln -s "$repository/.venv" "$work/.venv"
echo "== main job (in $work): $main_command"
start=$(date +%s)
(cd "$work" && MDINSIM_SHARED="$work/no-shared-data" bash -euo pipefail -c "$main_command")
seconds=$(( $(date +%s) - start ))
echo "== main job took $seconds s"

"$repository/.venv/bin/python" - "$work" <<'PY'
import json
import sys
from pathlib import Path

from mantid_mdinsim.io.nexus import load_processed_nexus
from mantid_mdinsim.spectrum import Spectrum

work = Path(sys.argv[1])
reports = sorted(work.rglob("report.json"))
if not reports:
    sys.exit(f"the main job wrote no report.json under {work}")
for path in reports:
    report = json.loads(path.read_text())
    figure = Path(report["figure"])
    if figure.read_bytes()[:8] != b"\x89PNG\r\n\x1a\n":
        sys.exit(f"{figure} is not a PNG")
    if not report["temperatures"]:
        sys.exit(f"{path}: no temperature in the report")
    for entry in report["temperatures"]:
        if not entry["peaks_mev"]:
            sys.exit(f"{path}: no peak found at {entry['temperature_k']} K")
        for label, name in entry["files"].items():
            if name.endswith(".nxs"):
                spectra = [w for w in load_processed_nexus(name) if isinstance(w, Spectrum)]
                if not spectra or not any(s.values.size for s in spectra):
                    sys.exit(f"{name} holds no spectrum")
            elif not Path(name).is_file():
                sys.exit(f"{name} ({label}) was not written")
    if any(str(value).find("/shared/") >= 0 for value in report["parameters"].values()):
        sys.exit(f"{path}: the main job used files from ../shared")
    print(f"== {path.parent.name}: {report['instrument']}, peaks (meV) "
          f"{report['temperatures'][0]['peaks_mev']}, figure {figure.name}: valid")
PY

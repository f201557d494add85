"""Cold start imports from the layer: as shipped, with both forms of each dependency module,
and with sources only. See emailsched_infra/import_time.py for what is measured.

    .venv/bin/python infra/layer_import_time.py --runs 7
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from emailsched_infra import import_time  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=7, help="fresh interpreters per form")
    p.add_argument("--build-dir", type=Path, default=HERE / "build")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as root:
        task, runtime, opts = import_time.lay_out(Path(root), HERE.parent,
                                                  args.build_dir.resolve())
        for line in import_time.report(import_time.measure(task, runtime, opts, args.runs)):
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

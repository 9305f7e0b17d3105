"""Transform every file of a corpus and write what came out, to show a change alters no byte.

A refactor of the transform must leave its output byte for byte as it was (issue 14). Run
this once with the old tree on ``PYTHONPATH`` and once with the new one, then ``diff -r``::

    python3 scripts/transform_tree.py --programs 2000 corpus/        # write the corpus once
    PYTHONPATH=/work/main python3 scripts/transform_tree.py corpus/ before/
    PYTHONPATH=.          python3 scripts/transform_tree.py corpus/ after/
    diff -r before/ after/

``--programs N`` writes N programs drawn from the differential tests' generator
(``tests/transform/programs.py``), laid out in every layout of ``layouts.py``, with a fixed
seed, plus ``samples/``; add other files (ported real code) to CORPUS by hand. Transforming
writes each output (or its ``path:line:col: error:`` line, in a ``.err`` file) under OUT.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def write_corpus(folder: Path, count: int) -> None:
    sys.path[:0] = [str(ROOT / "tests" / "transform")]
    from hypothesis import HealthCheck, Phase, given, settings
    from layouts import FEATURES, laid_out
    from programs import programs

    folder.mkdir(parents=True, exist_ok=True)
    drawn: list[str] = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )
    @given(source=laid_out(programs(), FEATURES))
    def draw(source: str) -> None:
        drawn.append(source)

    draw()
    for index, source in enumerate(drawn):
        (folder / f"program_{index:05d}.py").write_bytes(source.encode())
    for sample in sorted((ROOT / "samples").glob("*.py")):
        shutil.copyfile(sample, folder / f"sample_{sample.name}")
    print(f"{len(drawn)} programs and the samples written to {folder}")


def transform_corpus(corpus: Path, out: Path) -> None:
    from corofy.transform import CorofyError, transform_source

    done = failed = 0
    for path in sorted(corpus.rglob("*.py")):
        target = out / path.relative_to(corpus)
        target.parent.mkdir(parents=True, exist_ok=True)
        source = path.read_bytes().decode()
        try:
            result = transform_source(source, str(path.relative_to(corpus)))
        except CorofyError as error:
            target.with_suffix(".err").write_text(str(error))
            failed += 1
            continue
        target.write_bytes(result.encode())
        done += 1
    print(f"{done} transformed, {failed} refused, into {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("out", type=Path, nargs="?")
    parser.add_argument("--programs", type=int, help="write a corpus of N programs to CORPUS")
    args = parser.parse_args()
    if args.programs is not None:
        write_corpus(args.corpus, args.programs)
    if args.out is not None:
        transform_corpus(args.corpus, args.out)


if __name__ == "__main__":
    main()

"""Build ``workbook_template.xlsm`` from the readable sources under ``template/``.

    python -m template.build                  # writes workbook_template.xlsm at the repo root,
                                              # and the copy the package ships
    python -m template.build --output x.xlsm  # writes elsewhere
    python -m template.build --check          # exit 1 if a committed copy differs from a build

The build is deterministic: no clock, no randomness, no scratch files, so ``--check`` (and the
test that runs it) can demand byte-for-byte equality.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import spec
from .cfb import write_compound_file
from .ovba import Module, VBAProject
from .package import write_package

REPO_ROOT = spec.HERE.parent
DEFAULT_OUTPUT = REPO_ROOT / spec.TEMPLATE_NAME
#: The copy inside the package, which ``xlwings-meter template`` writes out for users.
PACKAGED_OUTPUT = REPO_ROOT / "xlwings_meter" / "excel" / spec.TEMPLATE_NAME


def load_modules() -> tuple[Module, ...]:
    """Read the VBA modules named in ``spec.MODULES`` from ``template/vba``."""
    return tuple(
        Module(m.name, m.kind, m.path.read_text(encoding="utf-8")) for m in spec.MODULES
    )


def expected_wrapper_signature(udf: spec.UdfDeclaration) -> str:
    """The first line of the VBA wrapper xlwings writes for ``udf`` (see xlwings.udfs)."""
    params = ", ".join(
        ("Optional " if p.default is not None else "") + p.name for p in udf.parameters
    )
    return f"Function {udf.name}({params})"


def check_udf_wrappers(modules: tuple[Module, ...]) -> None:
    """Refuse to build when a declared UDF's wrapper is missing or has other parameters."""
    udf_source = next(m.source for m in modules if m.name == "xlwings_udfs")
    lines = udf_source.splitlines()
    for udf in spec.UDFS:
        signature = expected_wrapper_signature(udf)
        if signature not in lines:
            raise SystemExit(
                f"template/vba/xlwings_udfs.bas has no line {signature!r}: regenerate the "
                f"wrapper for {udf.module}.{udf.name} (see docs/template.md)"
            )


def build_vba_project(modules: tuple[Module, ...]) -> bytes:
    """The bytes of ``xl/vbaProject.bin``."""
    project = VBAProject(
        name=spec.PROJECT_NAME,
        project_id=spec.PROJECT_ID,
        modules=modules,
        references=spec.REFERENCES,
    )
    return write_compound_file(project.streams())


def build_workbook() -> bytes:
    """The bytes of the template workbook."""
    modules = load_modules()
    check_udf_wrappers(modules)
    return write_package(
        sheets=spec.SHEETS,
        workbook_code_name=spec.WORKBOOK_CODE_NAME,
        vba_project=build_vba_project(modules),
        custom_ui=spec.CUSTOM_UI.read_bytes(),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m template.build", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--output", type=Path, help="where to write (default: the repository's "
                        "workbook_template.xlsm and the copy in the package)")
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if the file at --output differs from a fresh build",
    )
    args = parser.parse_args(argv)

    data = build_workbook()
    outputs = [args.output] if args.output else [DEFAULT_OUTPUT, PACKAGED_OUTPUT]
    if args.check:
        stale = [o for o in outputs if not o.exists() or o.read_bytes() != data]
        for output in stale:
            print(f"{output} is not what the sources build: run python -m template.build", file=sys.stderr)
        if not stale:
            print(" and ".join(str(o) for o in outputs) + " up to date")
        return 1 if stale else 0
    for output in outputs:
        output.write_bytes(data)
        print(f"wrote {output} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Build Outrider's native core.

Every ``.pyx`` under ``ext/outrider/`` compiles to the module named by its
path (``ext/outrider/_native/readat.pyx`` -> ``outrider._native.readat``), so
Cython finds the matching ``.pxd`` by its dotted name. ``OUTRIDER_NO_EXTENSIONS=1``
builds the pure-Python package only; otherwise a compiler error stops the build.
"""

from __future__ import annotations

import os
import pathlib
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = pathlib.Path(__file__).parent
EXT_ROOT = HERE / "ext"
NO_EXTENSIONS = os.environ.get("OUTRIDER_NO_EXTENSIONS", "") not in ("", "0")


def _extensions() -> list[Extension]:
    modules = []
    for pyx in sorted((EXT_ROOT / "outrider").rglob("*.pyx")):
        rel = pyx.relative_to(EXT_ROOT).with_suffix("")
        modules.append(
            Extension(
                ".".join(rel.parts),
                [str(pyx.relative_to(HERE))],
                extra_compile_args=["-O2"],
            )
        )
    return modules


class OutriderBuildExt(build_ext):
    user_options = [
        *build_ext.user_options,
        ("cython-always", None, "run cythonize even when the generated C is up to date"),
        ("cython-annotate", None, "write Cython's HTML annotation next to each module"),
    ]
    boolean_options = [*build_ext.boolean_options, "cython-always", "cython-annotate"]

    def initialize_options(self) -> None:
        super().initialize_options()
        self.cython_always = False
        self.cython_annotate = False

    def finalize_options(self) -> None:
        if getattr(self, "_outrider_finalized", False):
            return
        self._outrider_finalized = True
        try:
            from Cython.Build import cythonize
        except ImportError as exc:  # pragma: no cover - exercised only on broken build envs
            from setuptools.build_meta import SetupRequirementsError

            raise SetupRequirementsError(["Cython>=3.0,<4"]) from exc
        self.distribution.ext_modules = cythonize(
            self.distribution.ext_modules,
            include_path=[str(EXT_ROOT), str(EXT_ROOT / "includes")],
            compiler_directives={"language_level": "3", "boundscheck": False, "wraparound": False},
            annotate=bool(self.cython_annotate),
            force=bool(self.cython_always),
        )
        super().finalize_options()

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:
            sys.stderr.write(
                f"\nerror: building Outrider's native core failed ({exc}).\n"
                "Install a C compiler and the Python headers, or set OUTRIDER_NO_EXTENSIONS=1 "
                "for a pure-Python build.\n"
            )
            raise
        print("outrider: accelerated build (native core compiled)")


if NO_EXTENSIONS:
    print("outrider: pure build (OUTRIDER_NO_EXTENSIONS is set)")
    setup()
else:
    setup(ext_modules=_extensions(), cmdclass={"build_ext": OutriderBuildExt})

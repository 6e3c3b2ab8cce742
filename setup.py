"""Build of the Cython extensions over include/ioring/ (no system liburing needed)."""
import os
import sys

from setuptools import Extension, setup

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "tools"))
import gen_constants  # noqa: E402

from Cython.Build import cythonize  # noqa: E402

gen_constants.main()

include_dirs = ["include"]
# Windows (MSVC) builds ioring.winioring alone (KernelBase backend): no GCC flags there.
compile_args = [] if sys.platform == "win32" else ["-O2", "-D_GNU_SOURCE", "-Wno-unused-function"]
extra = os.environ.get("IORING_EXTRA_CFLAGS")
if extra:
    compile_args += extra.split()
link_args = os.environ.get("IORING_EXTRA_LDFLAGS", "").split()

ring_core_headers = [os.path.join("include", "ioring", h) for h in os.listdir("include/ioring")]
# ioring/includes/: one .pxd per C header; every extension over the core depends on all of them.
declarations = [os.path.join("ioring", "includes", p) for p in os.listdir(os.path.join("ioring", "includes"))
                if p.endswith(".pxd")]

extensions = [
    Extension("ioring.liburing", ["ioring/liburing.pyx"], include_dirs=include_dirs,
              extra_compile_args=compile_args, extra_link_args=link_args,
              depends=declarations + ["ioring/liburing.pxd", "ioring/_prep.pxi",
                       "ioring/_register.pxi", "ioring/_buf_ring.pxi", "ioring/_wait_reg.pxi", "ioring/_prep_fs.pxi", "ioring/_prep_net.pxi", "ioring/_constants.pxi",
                       "ioring/_buffer_export.pxi", "ioring/_convert.pxi", "ioring/_register_buffers.pxi",
                       "ioring/_register_files.pxi", "ioring/_register_ring.pxi", "ioring/_register_regions.pxi",
                       "ioring/_register_structs.pxi", "ioring/_raw_syscalls.pxi", "ioring/_ring_state.pxi",
                       "ioring/_ring_sizes.pxi", "ioring/_cq_iter.pxi"]
              + ring_core_headers),
    Extension("ioring._ring", ["ioring/_ring.pyx"], include_dirs=include_dirs,
              extra_compile_args=compile_args, extra_link_args=link_args,
              depends=declarations + ["ioring/liburing.pxd", "ioring/_ring_multishot.pxi"]
              + ring_core_headers),
    # ioring.winioring: the API and the KernelBase backend (Windows builds it alone); on Linux its
    # emulation backend is ioring._winioring_linux, over the thin layer's io_uring.
    Extension("ioring.winioring", ["ioring/winioring.pyx"], include_dirs=include_dirs,
              extra_compile_args=compile_args, extra_link_args=link_args,
              depends=["ioring/winioring.pxd", "ioring/_buffer_export.pxi", "ioring/includes/cpython_extra.pxd", "ioring/_winioring_kernelbase.pxi",
                       "include/ioring/winioring.h", "include/ioring/winioring_kernelbase.h"]),
    Extension("ioring._winioring_linux", ["ioring/_winioring_linux.pyx"], include_dirs=include_dirs,
              extra_compile_args=compile_args, extra_link_args=link_args,
              depends=declarations + ["ioring/liburing.pxd", "ioring/winioring.pxd",
                       "ioring/_winioring_event.pxi"] + ring_core_headers),
    Extension("ioring._bench", ["ioring/_bench.pyx"], include_dirs=include_dirs,
              extra_compile_args=compile_args, extra_link_args=link_args,
              depends=declarations + ["ioring/liburing.pxd"]
              + ring_core_headers),
    Extension("ioring._fileops", ["ioring/_fileops.pyx"], include_dirs=include_dirs,
              extra_compile_args=compile_args, extra_link_args=link_args,
              depends=declarations + ["ioring/_copy_engine.pxi"] + ring_core_headers),
    Extension("ioring._stream", ["ioring/_stream.pyx"], include_dirs=include_dirs,
              extra_compile_args=compile_args, extra_link_args=link_args,
              depends=declarations + ["ioring/liburing.pxd"]
              + ring_core_headers),
]
if sys.platform == "win32":   # io_uring is Linux-only; the rest of the package imports it
    extensions = [e for e in extensions if e.name == "ioring.winioring"]

setup(
    ext_modules=cythonize(extensions, compiler_directives={"language_level": 3, "embedsignature": True},
                          include_path=["."]),
)

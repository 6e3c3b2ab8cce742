# The ring core of include/ioring/ under one name, for the modules that use much of it
# (`from ioring.includes cimport core as c`; as Cython's cpython/__init__.pxd gathers its
# headers). It declares nothing: each header is declared once, in its own .pxd here.
from ioring.includes.python cimport *
from ioring.includes.abi cimport *
from ioring.includes.syscall cimport *
from ioring.includes.ring cimport *
from ioring.includes.prep cimport *
from ioring.includes.prep_fs cimport *
from ioring.includes.prep_net cimport *
from ioring.includes.buf_ring cimport *
from ioring.includes.register cimport *
from ioring.includes.register_buffers cimport *
from ioring.includes.register_files cimport *
from ioring.includes.register_ring cimport *
from ioring.includes.register_regions cimport *
from ioring.includes.wait_reg cimport *

# include/ioring/register_files.h: registered files (plain, updated, tagged, sparse, allocation range).
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int32_t
from posix.uio cimport iovec

from ioring.includes cimport abi
from ioring.includes.ring cimport ioring


cdef extern from "ioring/register_files.h" nogil:
    int ioring_register_files(ioring *ring, const int *files, unsigned nr_files)
    int ioring_unregister_files(ioring *ring)
    int ioring_register_files_update(ioring *ring, unsigned off, const int *files, unsigned nr_files)
    int ioring_register_files_tags(ioring *ring, const int *files, const uint64_t *tags, unsigned nr)
    int ioring_register_files_update_tag(ioring *ring, unsigned off, const int *files,
                                         const uint64_t *tags, unsigned nr_files)
    int ioring_register_file_alloc_range(ioring *ring, unsigned off, unsigned len)
    int ioring_register_files_sparse(ioring *ring, unsigned nr)

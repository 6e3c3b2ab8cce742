# include/ioring/udcount.h: the user_data multiset the thin layer tracks its requests in.
from libc.stdint cimport uint32_t, uint64_t

cdef extern from "ioring/udcount.h" nogil:
    struct ioring_udcount_slot:
        uint64_t key
        uint32_t count
        uint32_t ref
    struct ioring_udcount:
        ioring_udcount_slot *slots
        uint32_t mask
        uint32_t used
        uint64_t total
        uint32_t direct_used
    ioring_udcount_slot *ioring_udcount_add(ioring_udcount *t, uint64_t key)
    ioring_udcount_slot *ioring_udcount_find(const ioring_udcount *t, uint64_t key)
    int ioring_udcount_take(ioring_udcount *t, uint64_t key, uint32_t *ref)
    int ioring_udcount_remove(ioring_udcount *t, uint64_t key, uint32_t *count, uint32_t *ref)
    void ioring_udcount_clear(ioring_udcount *t)
    void ioring_udcount_free(ioring_udcount *t)
    uint32_t ioring_udcount_span(const ioring_udcount *t)
    const ioring_udcount_slot *ioring_udcount_slot_at(const ioring_udcount *t, uint32_t i)

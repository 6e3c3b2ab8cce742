/* Registered wait regions (kernel 6.13): wait arguments (timeout, min wait, sigmask) live in a
 * region registered once, and each wait passes only the index of its slot
 * (IORING_ENTER_EXT_ARG | IORING_ENTER_EXT_ARG_REG). */
#ifndef IORING_WAIT_REG_H
#define IORING_WAIT_REG_H

#include <stdint.h>
#include <string.h>

#include "ioring/abi.h"
#include "ioring/register.h"
#include "ioring/ring.h"

/* Register nr slots at reg (page-aligned user memory) as the ring's wait region. The ring
 * must still be disabled (IORING_SETUP_R_DISABLED) when this is done. */
static inline int ioring_register_wait_reg(struct ioring *ring, struct io_uring_reg_wait *reg, int nr)
{
    struct io_uring_region_desc rd;
    struct io_uring_mem_region_reg mr;

    if (nr <= 0)
        return -EINVAL;
    memset(&rd, 0, sizeof(rd));
    memset(&mr, 0, sizeof(mr));
    rd.user_addr = (uint64_t)(uintptr_t)reg;
    rd.size = IORING_PAGE_ALIGN((size_t)nr * sizeof(*reg));
    rd.flags = IORING_MEM_REGION_TYPE_USER;
    mr.region_uptr = (uint64_t)(uintptr_t)&rd;
    mr.flags = IORING_MEM_REGION_REG_WAIT_ARG;
    return ioring_register(ring, IORING_REGISTER_MEM_REGION, &mr, 1);
}

/* Submit and wait for wait_nr completions with the arguments of wait-region slot reg_index. */
static inline int ioring_submit_and_wait_reg(struct ioring *ring, struct io_uring_cqe **cqe_ptr,
                                             unsigned wait_nr, int reg_index)
{
    struct ioring_wait w;

    if (!(ring->features & IORING_FEAT_EXT_ARG) || reg_index < 0)
        return -EINVAL;
    memset(&w, 0, sizeof(w));
    w.submit = ioring_flush_sq(ring);
    w.wait_nr = wait_nr;
    w.get_flags = IORING_ENTER_EXT_ARG | IORING_ENTER_EXT_ARG_REG;
    w.arg_size = sizeof(struct io_uring_reg_wait);
    w.has_ts = true;
    w.arg = (void *)(uintptr_t)((size_t)reg_index * sizeof(struct io_uring_reg_wait));
    return ioring_get_cqe(ring, cqe_ptr, &w);
}

#endif /* IORING_WAIT_REG_H */

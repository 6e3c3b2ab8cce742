/* Memory regions and zero-copy receive (IORING_REGISTER_MEM_REGION, ZCRX_IFQ, ZCRX_CTRL). The
 * wait regions built on memory regions are in wait_reg.h. */
#ifndef IORING_REGISTER_REGIONS_H
#define IORING_REGISTER_REGIONS_H

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

#include "ioring/register.h"

static inline int ioring_register_region(struct ioring *ring, struct io_uring_mem_region_reg *reg)
{
    return ioring_register(ring, IORING_REGISTER_MEM_REGION, reg, 1);
}

static inline int ioring_register_ifq(struct ioring *ring, struct io_uring_zcrx_ifq_reg *reg)
{
    return ioring_register(ring, IORING_REGISTER_ZCRX_IFQ, reg, 1);
}

static inline int ioring_register_zcrx_ctrl(struct ioring *ring, struct zcrx_ctrl *ctrl)
{
    return ioring_register(ring, IORING_REGISTER_ZCRX_CTRL, ctrl, 0);
}

#endif /* IORING_REGISTER_REGIONS_H */

/* io_uring_register: the call every registration makes (ioring_register: through the
 * registered ring fd when there is one), eventfds and the probe. What is registered has a
 * header each: register_buffers.h, register_files.h, register_ring.h (the ring's own settings),
 * register_regions.h (memory regions, zero-copy receive), wait_reg.h (wait regions). Each call
 * returns 0 (or the kernel's non-negative result) or -errno, as liburing's register.c does;
 * nothing allocates or keeps a pointer: the caller owns every argument. */
#ifndef IORING_REGISTER_H
#define IORING_REGISTER_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "ioring/abi.h"
#include "ioring/ring.h"
#include "ioring/syscall.h"

static inline int ioring_register(struct ioring *ring, unsigned opcode, const void *arg,
                                  unsigned nr_args)
{
    if (ring->int_flags & IORING_INT_FLAG_REG_REG_RING)
        return ioring_sys_register(ring->enter_ring_fd, opcode | IORING_REGISTER_USE_REGISTERED_RING,
                                   arg, nr_args);
    return ioring_sys_register(ring->ring_fd, opcode, arg, nr_args);
}

/* The arguments of the tagged and sparse tables (IORING_REGISTER_BUFFERS2/FILES2) and of their
 * updates (IORING_REGISTER_BUFFERS_UPDATE/FILES_UPDATE2): register_buffers.h, register_files.h. */
static inline struct io_uring_rsrc_register ioring_rsrc_table(unsigned nr, const void *data,
                                                              const uint64_t *tags, unsigned flags)
{
    struct io_uring_rsrc_register reg;
    memset(&reg, 0, sizeof(reg));
    reg.nr = nr;
    reg.flags = flags;
    reg.data = (uint64_t)(uintptr_t)data;
    reg.tags = (uint64_t)(uintptr_t)tags;
    return reg;
}

static inline struct io_uring_rsrc_update2 ioring_rsrc_update(unsigned off, const void *data,
                                                              const uint64_t *tags, unsigned nr)
{
    struct io_uring_rsrc_update2 up;
    memset(&up, 0, sizeof(up));
    up.offset = off;
    up.data = (uint64_t)(uintptr_t)data;
    up.tags = (uint64_t)(uintptr_t)tags;
    up.nr = nr;
    return up;
}

static inline int ioring_register_eventfd(struct ioring *ring, int fd)
{
    return ioring_register(ring, IORING_REGISTER_EVENTFD, &fd, 1);
}

static inline int ioring_register_eventfd_async(struct ioring *ring, int fd)
{
    return ioring_register(ring, IORING_REGISTER_EVENTFD_ASYNC, &fd, 1);
}

static inline int ioring_unregister_eventfd(struct ioring *ring)
{
    return ioring_register(ring, IORING_UNREGISTER_EVENTFD, NULL, 0);
}

/* The probe has room for every opcode number a u8 can hold. */
#define IORING_PROBE_OPS 256

static inline size_t ioring_probe_size(void)
{
    return sizeof(struct io_uring_probe) + IORING_PROBE_OPS * sizeof(struct io_uring_probe_op);
}

static inline int ioring_register_probe(struct ioring *ring, struct io_uring_probe *probe, unsigned nr)
{
    return ioring_register(ring, IORING_REGISTER_PROBE, probe, nr);
}

static inline int ioring_opcode_supported(const struct io_uring_probe *probe, int op)
{
    if (op < 0 || op > probe->last_op)
        return 0;
    return (probe->ops[op].flags & IO_URING_OP_SUPPORTED) != 0;
}

#endif /* IORING_REGISTER_H */

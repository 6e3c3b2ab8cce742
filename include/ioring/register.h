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

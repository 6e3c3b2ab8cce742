/* Registered buffers (io_uring_register_buffers and the tagged, sparse, updated and cloned
 * tables of liburing 2.15), with liburing's argument lists and results. */
#ifndef IORING_REGISTER_BUFFERS_H
#define IORING_REGISTER_BUFFERS_H

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

#include "ioring/register.h"

static inline int ioring_register_buffers(struct ioring *ring, const struct iovec *iovecs,
                                          unsigned nr_iovecs)
{
    return ioring_register(ring, IORING_REGISTER_BUFFERS, iovecs, nr_iovecs);
}

static inline int ioring_unregister_buffers(struct ioring *ring)
{
    return ioring_register(ring, IORING_UNREGISTER_BUFFERS, NULL, 0);
}

static inline int ioring_register_buffers_tags(struct ioring *ring, const struct iovec *iovecs,
                                               const uint64_t *tags, unsigned nr)
{
    struct io_uring_rsrc_register reg = ioring_rsrc_table(nr, iovecs, tags, 0);
    return ioring_register(ring, IORING_REGISTER_BUFFERS2, &reg, sizeof(reg));
}

static inline int ioring_register_buffers_sparse(struct ioring *ring, unsigned nr)
{
    struct io_uring_rsrc_register reg = ioring_rsrc_table(nr, NULL, NULL, IORING_RSRC_REGISTER_SPARSE);
    return ioring_register(ring, IORING_REGISTER_BUFFERS2, &reg, sizeof(reg));
}

static inline int ioring_register_buffers_update_tag(struct ioring *ring, unsigned off,
                                                     const struct iovec *iovecs,
                                                     const uint64_t *tags, unsigned nr)
{
    struct io_uring_rsrc_update2 up = ioring_rsrc_update(off, iovecs, tags, nr);
    return ioring_register(ring, IORING_REGISTER_BUFFERS_UPDATE, &up, sizeof(up));
}

/* liburing's __io_uring_clone_buffers_offset: the source is named by its registered index
 * only when asked to and when it has one; otherwise by its fd, without the flag. */
static inline int __ioring_clone_buffers_offset(struct ioring *dst, struct ioring *src,
                                                unsigned dst_off, unsigned src_off,
                                                unsigned nr, unsigned flags)
{
    struct io_uring_clone_buffers buf;
    memset(&buf, 0, sizeof(buf));
    buf.flags = flags;
    buf.src_off = src_off;
    buf.dst_off = dst_off;
    buf.nr = nr;
    if ((flags & IORING_REGISTER_SRC_REGISTERED) && (src->int_flags & IORING_INT_FLAG_REG_REG_RING)) {
        buf.src_fd = (uint32_t)src->enter_ring_fd;
    } else {
        buf.src_fd = (uint32_t)src->ring_fd;
        buf.flags &= ~IORING_REGISTER_SRC_REGISTERED;
    }
    return ioring_register(dst, IORING_REGISTER_CLONE_BUFFERS, &buf, 1);
}

static inline int ioring_clone_buffers_offset(struct ioring *dst, struct ioring *src,
                                              unsigned dst_off, unsigned src_off, unsigned nr,
                                              unsigned flags)
{
    return __ioring_clone_buffers_offset(dst, src, dst_off, src_off, nr,
                                         flags | IORING_REGISTER_SRC_REGISTERED);
}

static inline int ioring_clone_buffers(struct ioring *dst, struct ioring *src)
{
    return __ioring_clone_buffers_offset(dst, src, 0, 0, 0, IORING_REGISTER_SRC_REGISTERED);
}

#endif /* IORING_REGISTER_BUFFERS_H */

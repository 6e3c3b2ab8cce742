/* Provided-buffer rings (IORING_REGISTER_PBUF_RING, kernel 5.19): the application publishes
 * buffers by advancing the ring's tail; the kernel picks one per request (IOSQE_BUFFER_SELECT)
 * and reports its bid in the CQE flags. */
#ifndef IORING_BUF_RING_H
#define IORING_BUF_RING_H

#include <stdint.h>
#include <string.h>
#include <errno.h>
#include <sys/mman.h>

#include "ioring/abi.h"
#include "ioring/barrier.h"
#include "ioring/prep.h"
#include "ioring/register.h"

static inline int ioring_buf_ring_mask(uint32_t ring_entries)
{
    return (int)(ring_entries - 1);
}

static inline void ioring_buf_ring_init(struct io_uring_buf_ring *br)
{
    br->tail = 0;
}

/* Stage a buffer at tail + buf_offset; nothing is visible to the kernel until advance. */
static inline void ioring_buf_ring_add(struct io_uring_buf_ring *br, void *addr, unsigned len,
                                       unsigned short bid, int mask, int buf_offset)
{
    struct io_uring_buf *buf = &br->bufs[(br->tail + buf_offset) & mask];
    buf->addr = (uint64_t)(uintptr_t)addr;
    buf->len = len;
    buf->bid = bid;
}

/* Publish count staged buffers: release so the kernel sees their contents first. */
static inline void ioring_buf_ring_advance(struct io_uring_buf_ring *br, int count)
{
    ioring_store_release(&br->tail, (uint16_t)(br->tail + count));
}

/* Both at once: publish buf_count buffers and consume cq_count CQEs. */
static inline void ioring_buf_ring_cq_advance2(struct ioring *ring, struct io_uring_buf_ring *br,
                                               int cq_count, int buf_count)
{
    ioring_buf_ring_advance(br, buf_count);
    ioring_cq_advance(ring, (unsigned)cq_count);
}

static inline int ioring_register_buf_ring(struct ioring *ring, struct io_uring_buf_reg *reg,
                                           unsigned flags)
{
    reg->flags |= (uint16_t)flags;
    return ioring_register(ring, IORING_REGISTER_PBUF_RING, reg, 1);
}

static inline int ioring_unregister_buf_ring(struct ioring *ring, int bgid)
{
    struct io_uring_buf_reg reg;
    memset(&reg, 0, sizeof(reg));
    reg.bgid = (uint16_t)bgid;
    return ioring_register(ring, IORING_UNREGISTER_PBUF_RING, &reg, 1);
}

/* The kernel's head of buffer group buf_group (IORING_REGISTER_PBUF_STATUS, 6.8). */
static inline int ioring_buf_ring_head(struct ioring *ring, int buf_group, uint16_t *head)
{
    struct io_uring_buf_status st;
    int ret;
    memset(&st, 0, sizeof(st));
    st.buf_group = (uint32_t)buf_group;
    ret = ioring_register(ring, IORING_REGISTER_PBUF_STATUS, &st, 1);
    if (ret)
        return ret;
    *head = (uint16_t)st.head;
    return 0;
}

/* The ring of group bgid that the kernel allocated (registered with IOU_PBUF_RING_MMAP), mapped
 * from the ring fd at IORING_OFF_PBUF_RING | bgid << IORING_OFF_PBUF_SHIFT (kernel 6.4). */
static inline struct io_uring_buf_ring *ioring_mmap_buf_ring(struct ioring *ring, unsigned nentries,
                                                             int bgid, int *err)
{
    uint64_t off = IORING_OFF_PBUF_RING | ((uint64_t)(uint16_t)bgid << IORING_OFF_PBUF_SHIFT);
    void *ptr = mmap(NULL, nentries * sizeof(struct io_uring_buf), PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_POPULATE, ring->ring_fd, (off_t)off);

    if (ptr == MAP_FAILED) {
        *err = -errno;
        return NULL;
    }
    *err = 0;
    return (struct io_uring_buf_ring *)ptr;
}

/* A ring of nentries registered as group bgid, in mmap'd page-aligned memory of ours, or with
 * IOU_PBUF_RING_MMAP in flags allocated by the kernel and mapped from the ring fd. */
static inline struct io_uring_buf_ring *ioring_setup_buf_ring(struct ioring *ring, unsigned nentries,
                                                              int bgid, unsigned flags, int *err)
{
    struct io_uring_buf_reg reg;
    size_t size = nentries * sizeof(struct io_uring_buf);
    void *ptr = NULL;
    int ret;

    memset(&reg, 0, sizeof(reg));
    if (!(flags & IOU_PBUF_RING_MMAP)) {
        ptr = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
        if (ptr == MAP_FAILED) {
            *err = -ENOMEM;
            return NULL;
        }
        reg.ring_addr = (uint64_t)(uintptr_t)ptr;
    }
    reg.ring_entries = nentries;
    reg.bgid = (uint16_t)bgid;
    ret = ioring_register_buf_ring(ring, &reg, flags);
    if (ret) {
        if (ptr)
            munmap(ptr, size);
        *err = ret;
        return NULL;
    }
    if (flags & IOU_PBUF_RING_MMAP) {
        ptr = ioring_mmap_buf_ring(ring, nentries, bgid, err);
        if (!ptr) {
            ioring_unregister_buf_ring(ring, bgid);
            return NULL;
        }
    }
    ioring_buf_ring_init((struct io_uring_buf_ring *)ptr);
    *err = 0;
    return (struct io_uring_buf_ring *)ptr;
}

static inline int ioring_free_buf_ring(struct ioring *ring, struct io_uring_buf_ring *br,
                                       unsigned nentries, int bgid)
{
    int ret = ioring_unregister_buf_ring(ring, bgid);
    if (ret)
        return ret;
    munmap(br, nentries * sizeof(struct io_uring_buf));
    return 0;
}

/* liburing's io_uring_prep_provide_buffers / remove_buffers (legacy provided buffers, 5.7). */
static inline void ioring_prep_provide_buffers(struct io_uring_sqe *sqe, void *addr, int len, int nr,
                                               int bgid, int bid)
{
    ioring_prep_rw(IORING_OP_PROVIDE_BUFFERS, sqe, nr, addr, (unsigned)len, (uint64_t)bid);
    sqe->buf_group = (uint16_t)bgid;
}

static inline void ioring_prep_remove_buffers(struct io_uring_sqe *sqe, int nr, int bgid)
{
    ioring_prep_rw(IORING_OP_REMOVE_BUFFERS, sqe, nr, NULL, 0, 0);
    sqe->buf_group = (uint16_t)bgid;
}

#endif /* IORING_BUF_RING_H */

# Memory regions and zero-copy receive (zcrx) interface queues: registrations whose structs
# the kernel keeps pointing at, so they are kept in ring._provided until io_uring_queue_exit.
# Included by liburing.pyx; the structs are in _register_structs.pxi.


# ---- memory regions ----------------------------------------------------------------------------


def io_uring_register_region(io_uring ring not None, io_uring_mem_region_reg reg not None):
    """io_uring_register_region(3): register a memory region (one per ring). User memory
    stays pinned until io_uring_queue_exit; a kernel-allocated region's mmap offset is written
    into reg.region_uptr.mmap_offset."""
    cdef int ret
    _reg_begin(ring)
    with nogil:
        ret = c.ioring_register_region(&ring.ring, &reg.reg)
    ret = _reg_end(ring, ret)
    ring._provided.append(reg)
    return ret


# ---- zero-copy receive -------------------------------------------------------------------------


def io_uring_register_ifq(io_uring ring not None, io_uring_zcrx_ifq_reg reg not None):
    """io_uring_register_ifq(3): register a zero-copy receive interface queue (needs a NIC
    that supports it, CAP_NET_ADMIN, and an IORING_SETUP_DEFER_TASKRUN ring with 32-byte
    CQEs). The area and region memory stay pinned until io_uring_queue_exit."""
    cdef int ret
    _reg_begin(ring)
    with nogil:
        ret = c.ioring_register_ifq(&ring.ring, &reg.reg)
    ret = _reg_end(ring, ret)
    ring._provided.append(reg)
    return ret


def io_uring_register_zcrx_ctrl(io_uring ring not None, zcrx_ctrl ctrl not None):
    """io_uring_register_zcrx_ctrl(3): run ``ctrl.op`` on a registered zero-copy receive
    queue (IORING_REGISTER_ZCRX_CTRL)."""
    cdef int ret
    _reg_begin(ring)
    with nogil:
        ret = c.ioring_register_zcrx_ctrl(&ring.ring, &ctrl.ctrl)
    return _reg_end(ring, ret)

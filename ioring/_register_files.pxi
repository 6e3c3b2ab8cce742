# Registered files (io_uring_register_files and its updated, tagged and sparse variants, the
# allocation range of direct descriptors). Included by liburing.pyx; the kernel keeps its own
# reference to each registered file, so nothing here needs pinning.


def io_uring_register_files(io_uring ring not None, files, nr_files=None):
    """io_uring_register_files(3): ``files`` is a sequence of fds (-1 for an empty slot)."""
    cdef _IntArray fds = _IntArray(files, nr_files, "nr_files")
    cdef int ret
    _reg_begin(ring)
    with nogil:
        ret = c.ioring_register_files(&ring.ring, fds.items, fds.count)
    return _reg_end(ring, ret)


def io_uring_unregister_files(io_uring ring not None):
    """io_uring_unregister_files(3)."""
    cdef int ret
    _reg_begin(ring)
    with nogil:
        ret = c.ioring_unregister_files(&ring.ring)
    return _reg_end(ring, ret)


def io_uring_register_files_update(io_uring ring not None, unsigned off, files, nr_files=None):
    """io_uring_register_files_update(3): replace slots from ``off``; returns how many were
    updated (-1 empties a slot, IORING_REGISTER_FILES_SKIP keeps it)."""
    cdef _IntArray fds = _IntArray(files, nr_files, "nr_files")
    cdef int ret
    _reg_begin(ring)
    with nogil:
        ret = c.ioring_register_files_update(&ring.ring, off, fds.items, fds.count)
    return _reg_end(ring, ret)


def io_uring_register_files_tags(io_uring ring not None, files, tags, nr=None):
    """io_uring_register_files_tags(3): register ``files`` (fds, -1 = empty slot) with a tag
    each (``tags``: ints, 0 = untagged, or None); a tagged slot's tag is posted as a CQE
    (user_data = tag, res 0) when its file is replaced or unregistered. On EMFILE the soft
    RLIMIT_NOFILE is raised once and the call retried, as liburing does."""
    cdef _IntArray fds = _IntArray(files, nr, "nr")
    cdef _U64Array t = _U64Array(tags, fds.count, "tags")
    cdef int ret
    _reg_begin(ring)
    with nogil:
        ret = c.ioring_register_files_tags(&ring.ring, fds.items, t.items, fds.count)
    ret = _reg_end(ring, ret)
    _expect_tag_cqes(ring, t, fds.count)
    return ret


def io_uring_register_files_sparse(io_uring ring not None, unsigned nr):
    """io_uring_register_files_sparse(3): a table of ``nr`` empty file slots (for direct
    descriptors: openat_direct, accept_direct, files_update...). On EMFILE the soft
    RLIMIT_NOFILE is raised once and the call retried, as liburing does."""
    cdef int ret
    _reg_begin(ring)
    with nogil:
        ret = c.ioring_register_files_sparse(&ring.ring, nr)
    return _reg_end(ring, ret)


def io_uring_register_files_update_tag(io_uring ring not None, unsigned off, files, tags, nr_files=None):
    """io_uring_register_files_update_tag(3): replace slots ``off``.. with ``files`` (-1
    empties a slot, IORING_REGISTER_FILES_SKIP keeps it) and their ``tags`` (or None);
    returns how many slots were updated."""
    cdef _IntArray fds = _IntArray(files, nr_files, "nr_files")
    cdef _U64Array t = _U64Array(tags, fds.count, "tags")
    cdef int ret
    _reg_begin(ring)
    with nogil:
        ret = c.ioring_register_files_update_tag(&ring.ring, off, fds.items, t.items, fds.count)
    ret = _reg_end(ring, ret)
    _expect_tag_cqes(ring, t, fds.count)
    return ret


def io_uring_register_file_alloc_range(io_uring ring not None, unsigned off, unsigned len):
    """io_uring_register_file_alloc_range(3): direct descriptors allocated by the kernel
    (IORING_FILE_INDEX_ALLOC) are taken from slots [off, off + len)."""
    cdef int ret
    _reg_begin(ring)
    with nogil:
        ret = c.ioring_register_file_alloc_range(&ring.ring, off, len)
    return _reg_end(ring, ret)

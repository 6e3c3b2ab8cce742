"""ioring.liburing: the extended io_uring_register_* group (tagged and sparse tables, cloning,
personalities, restrictions, io-wq, sync cancel/msg, NAPI, clock, regions, zcrx, BPF, query,
probe) and the raw io_uring_setup / io_uring_enter / io_uring_register syscalls.
"""
import errno
import mmap
import os
import socket
import struct
import threading
import time

import pytest

from ioring import liburing as L
from helpers import make_ring, reap, sqe_for  # noqa: E402


# ---- helpers -----------------------------------------------------------------------------------

def no_more_cqes(ring, wait=0.05):
    return L.io_uring_wait_cqe_timeout(ring, L.kernel_timespec(0, int(wait * 1e9))) is None


def read_fixed(ring, fd, buf, nbytes, offset, buf_index, user_data=1):
    sqe = sqe_for(ring, user_data)
    L.io_uring_prep_read_fixed(sqe, fd, buf, nbytes, offset, buf_index)
    assert L.io_uring_submit(ring) == 1
    [(ud, res, _)] = reap(ring, 1)
    assert ud == user_data
    return res


def assert_read_fixed_refused(ring, fd, buf, buf_index):
    sqe = L.io_uring_get_sqe(ring)
    with pytest.raises(ValueError):
        L.io_uring_prep_read_fixed(sqe, fd, buf, len(buf), 0, buf_index)
    assert sqe.opcode == L.IORING_OP_NOP       # the SQE was not touched
    L.io_uring_prep_nop(sqe)
    L.io_uring_submit(ring)
    reap(ring, 1)


def pattern(n, seed=0):
    return bytes((i * 7 + seed) & 0xFF for i in range(n))


def run_in_thread(fn, *args):
    """Run fn in a fresh thread: io-wq state (workers, limits, affinity) is per thread."""
    result = {}

    def target():
        try:
            result["value"] = fn(*args)
        except BaseException as exc:      # noqa: BLE001 - re-raised in the caller
            result["error"] = exc

    t = threading.Thread(target=target)
    t.start()
    t.join(30)
    assert not t.is_alive(), "the thread did not finish"
    if "error" in result:
        raise result["error"]
    return result.get("value")


def skip_unless(exc, *errnos, what):
    if exc.errno in errnos:
        pytest.skip(f"kernel refused {what}: {exc}")


@pytest.fixture
def ring2():
    r = make_ring(64)
    yield r
    if r.ring_fd is not None:
        L.io_uring_queue_exit(r)


@pytest.fixture
def datafile(tmp_path):
    path = tmp_path / "data"
    path.write_bytes(pattern(65536))
    fd = os.open(path, os.O_RDONLY)
    yield fd
    os.close(fd)


# ---- registered buffers: sparse tables and updates ---------------------------------------------

def test_buffers_sparse_slots_are_empty_until_updated(ring, datafile):
    assert L.io_uring_register_buffers_sparse(ring, 4) == 0
    buf = bytearray(4096)
    for slot in range(4):
        assert_read_fixed_refused(ring, datafile, buf, slot)
    assert L.io_uring_register_buffers_update_tag(ring, 2, [buf], [0]) == 1
    assert read_fixed(ring, datafile, buf, 4096, 100, 2) == 4096
    assert bytes(buf) == pattern(65536)[100:4196]
    assert_read_fixed_refused(ring, datafile, buf, 1)        # the others are still empty
    with pytest.raises(BufferError):
        buf.extend(b"x")                                     # pinned while registered
    # None empties the slot again: the kernel refuses it, and the memory is released.
    assert L.io_uring_register_buffers_update_tag(ring, 2, [None], None) == 1
    assert_read_fixed_refused(ring, datafile, buf, 2)
    buf.extend(b"x")


def test_buffers_sparse_table_is_exclusive(ring):
    L.io_uring_register_buffers_sparse(ring, 2)
    with pytest.raises(OSError) as exc:
        L.io_uring_register_buffers_sparse(ring, 2)
    assert exc.value.errno == errno.EBUSY
    L.io_uring_unregister_buffers(ring)
    assert L.io_uring_register_buffers_sparse(ring, 1) == 0


def test_buffers_update_replaces_range_and_pin(ring, datafile):
    a, b = bytearray(4096), bytearray(8192)
    L.io_uring_register_buffers(ring, [a])
    assert L.io_uring_register_buffers_update_tag(ring, 0, [b], None) == 1
    assert_read_fixed_refused(ring, datafile, a, 0)           # a is no longer slot 0
    assert read_fixed(ring, datafile, memoryview(b)[4096:], 4096, 0, 0) == 4096
    assert bytes(b[4096:]) == pattern(4096)
    a.extend(b"released")                                    # the old pin was dropped
    with pytest.raises(BufferError):
        b.extend(b"pinned")


def test_buffers_update_tag_errors(ring):
    buf = bytearray(4096)
    with pytest.raises(OSError) as exc:                      # no table registered
        L.io_uring_register_buffers_update_tag(ring, 0, [buf], None)
    assert exc.value.errno == errno.ENXIO
    L.io_uring_register_buffers_sparse(ring, 2)
    with pytest.raises(OSError) as exc:                      # past the table
        L.io_uring_register_buffers_update_tag(ring, 2, [buf], None)
    assert exc.value.errno == errno.EINVAL
    with pytest.raises(OSError) as exc:                      # a tag on an empty slot
        L.io_uring_register_buffers_update_tag(ring, 0, [None], [5])
    assert exc.value.errno == errno.EINVAL
    with pytest.raises(ValueError):
        L.io_uring_register_buffers_update_tag(ring, 0, [buf], [1], 2)   # nr > len
    with pytest.raises(ValueError):
        L.io_uring_register_buffers_update_tag(ring, 0, [buf, buf], [1])  # too few tags
    with pytest.raises(TypeError):
        L.io_uring_register_buffers_update_tag(ring, 0, [b"read-only"], None)
    with pytest.raises(TypeError):
        L.io_uring_register_buffers_update_tag(ring, 0, [buf], ["tag"])
    with pytest.raises(ValueError):
        L.io_uring_register_buffers_update_tag(ring, 0, [buf], [-1])
    assert_read_fixed_refused(ring, 0, buf, 0)               # nothing was registered
    buf.extend(b"x")                                         # and nothing stayed pinned


# ---- registered buffers: tags -------------------------------------------------------------------

def test_buffer_tags_are_posted_when_replaced_and_unregistered(ring, datafile):
    a, b, c = bytearray(4096), bytearray(4096), bytearray(4096)
    assert L.io_uring_register_buffers_tags(ring, [a, b], [11, 22]) == 0
    assert read_fixed(ring, datafile, a, 4096, 0, 0) == 4096
    assert bytes(a) == pattern(4096)
    assert no_more_cqes(ring)
    assert L.io_uring_register_buffers_update_tag(ring, 0, [c], [33]) == 1
    assert reap(ring, 1) == [(11, 0, 0)]                     # slot 0's old buffer is gone
    assert_read_fixed_refused(ring, datafile, a, 0)
    assert read_fixed(ring, datafile, c, 4096, 4096, 0) == 4096
    assert bytes(c) == pattern(65536)[4096:8192]
    L.io_uring_unregister_buffers(ring)
    assert sorted(reap(ring, 2)) == [(22, 0, 0), (33, 0, 0)]
    for buf in (a, b, c):
        buf.extend(b"x")                                     # all released


def test_buffer_tags_with_empty_slots_and_untagged(ring, datafile):
    buf = bytearray(4096)
    assert L.io_uring_register_buffers_tags(ring, [None, buf], [0, 0]) == 0
    assert_read_fixed_refused(ring, datafile, buf, 0)
    assert read_fixed(ring, datafile, buf, 4096, 0, 1) == 4096
    L.io_uring_unregister_buffers(ring)
    assert no_more_cqes(ring)                                # tag 0: no CQE


def test_buffers_tags_none_and_nr_prefix(ring, datafile):
    a, b = bytearray(4096), bytearray(4096)
    assert L.io_uring_register_buffers_tags(ring, [a, b], None, 1) == 0
    assert read_fixed(ring, datafile, a, 4096, 0, 0) == 4096
    assert_read_fixed_refused(ring, datafile, b, 1)          # only a prefix of one
    b.extend(b"x")


def test_buffers_tags_errors(ring):
    buf = bytearray(4096)
    with pytest.raises(ValueError):
        L.io_uring_register_buffers_tags(ring, [buf], [1, 2], 2)
    with pytest.raises(ValueError):
        L.io_uring_register_buffers_tags(ring, [buf, buf], [1])
    with pytest.raises(TypeError):
        L.io_uring_register_buffers_tags(ring, [bytes(10)], None)
    with pytest.raises(OSError) as exc:
        L.io_uring_register_buffers_tags(ring, [None], [7])  # tag on an empty slot
    assert exc.value.errno == errno.EINVAL
    with pytest.raises(OSError) as exc:
        L.io_uring_register_buffers_tags(ring, [], None)
    assert exc.value.errno == errno.EINVAL
    L.io_uring_register_buffers(ring, [buf])
    with pytest.raises(OSError) as exc:
        L.io_uring_register_buffers_tags(ring, [bytearray(10)], None)
    assert exc.value.errno == errno.EBUSY
    assert read_fixed(ring, os.open("/dev/zero", os.O_RDONLY), buf, 16, 0, 0) == 16  # still in place


def test_buffer_functions_on_closed_ring():
    r = make_ring(4)
    L.io_uring_queue_exit(r)
    with pytest.raises(ValueError):
        L.io_uring_register_buffers_sparse(r, 1)
    with pytest.raises(ValueError):
        L.io_uring_register_buffers_tags(r, [bytearray(8)], None)


# ---- cloning ------------------------------------------------------------------------------------

def test_clone_buffers_gives_dst_the_same_buffers(ring, ring2, datafile):
    a, b = bytearray(4096), bytearray(8192)
    L.io_uring_register_buffers(ring, [a, b])
    assert L.io_uring_clone_buffers(ring2, ring) == 0
    assert read_fixed(ring2, datafile, memoryview(b)[100:4196], 4096, 8, 1) == 4096
    assert bytes(b[100:4196]) == pattern(65536)[8:4104]
    # dst holds its own pins: unregistering in src does not release the memory.
    L.io_uring_unregister_buffers(ring)
    with pytest.raises(BufferError):
        a.extend(b"x")
    assert read_fixed(ring2, datafile, a, 4096, 0, 0) == 4096
    L.io_uring_unregister_buffers(ring2)
    a.extend(b"x")
    b.extend(b"x")


def test_clone_buffers_errors(ring, ring2):
    with pytest.raises(OSError) as exc:
        L.io_uring_clone_buffers(ring2, ring)                # src has none
    assert exc.value.errno == errno.ENXIO
    L.io_uring_register_buffers(ring, [bytearray(64)])
    L.io_uring_register_buffers(ring2, [bytearray(64)])
    with pytest.raises(OSError) as exc:
        L.io_uring_clone_buffers(ring2, ring)                # dst has some
    assert exc.value.errno == errno.EBUSY
    closed = make_ring(4)
    L.io_uring_queue_exit(closed)
    with pytest.raises(ValueError):
        L.io_uring_clone_buffers(closed, ring)
    with pytest.raises(ValueError):
        L.io_uring_clone_buffers(ring2, closed)
    with pytest.raises(TypeError):
        L.io_uring_clone_buffers(ring2, None)


def test_clone_buffers_offset(ring, ring2, datafile):
    a, b, c = bytearray(4096), bytearray(4096), bytearray(4096)
    L.io_uring_register_buffers(ring, [a, b])
    # b (src slot 1) into dst slot 2 of a new table of 3: slots 0 and 1 stay empty.
    assert L.io_uring_clone_buffers_offset(ring2, ring, 2, 1, 1) == 0
    assert_read_fixed_refused(ring2, datafile, a, 0)
    assert_read_fixed_refused(ring2, datafile, b, 1)
    assert read_fixed(ring2, datafile, b, 4096, 0, 2) == 4096
    assert bytes(b) == pattern(4096)
    L.io_uring_unregister_buffers(ring2)
    # DST_REPLACE: dst's own slot 0 (c) is replaced by src's slot 0 (a); slot 1 stays c2.
    c2 = bytearray(4096)
    L.io_uring_register_buffers(ring2, [c, c2])
    assert L.io_uring_clone_buffers_offset(ring2, ring, 0, 0, 1, L.IORING_REGISTER_DST_REPLACE) == 0
    assert_read_fixed_refused(ring2, datafile, c, 0)
    assert read_fixed(ring2, datafile, a, 4096, 4096, 0) == 4096
    assert bytes(a) == pattern(65536)[4096:8192]
    # Slots after the cloned range are kept since the 6.18.y fix "copy original dst nodes
    # from after the cloned range"; kernels before it drop them (the read then faults).
    assert read_fixed(ring2, datafile, c2, 100, 0, 1) in (100, -errno.EFAULT)
    c.extend(b"x")                                           # replaced: released
    with pytest.raises(OSError) as exc:                      # offsets without nr
        L.io_uring_clone_buffers_offset(ring2, ring, 1, 0, 0, L.IORING_REGISTER_DST_REPLACE)
    assert exc.value.errno == errno.EINVAL
    with pytest.raises(OSError) as exc:                      # more than src has
        L.io_uring_clone_buffers_offset(ring2, ring, 0, 0, 3, L.IORING_REGISTER_DST_REPLACE)
    assert exc.value.errno == errno.EINVAL


# ---- registered files: tags, sparse tables, allocation range -----------------------------------

def _fixed_read(ring, slot, n, user_data=9):
    buf = bytearray(n)
    sqe = sqe_for(ring, user_data)
    L.io_uring_prep_read(sqe, slot, buf, n, 0)
    L.io_uring_sqe_set_flags(sqe, L.IOSQE_FIXED_FILE)
    L.io_uring_submit(ring)
    [(_, res, _)] = reap(ring, 1)
    return res, bytes(buf[:max(res, 0)])


def test_file_tags_are_posted_when_replaced_and_unregistered(ring, tmp_path):
    fds = []
    for name in ("a", "b", "c"):
        (tmp_path / name).write_bytes(name.encode() * 8)
        fds.append(os.open(tmp_path / name, os.O_RDONLY))
    try:
        assert L.io_uring_register_files_tags(ring, fds[:2], [111, 222]) == 0
        assert _fixed_read(ring, 0, 8) == (8, b"a" * 8)
        assert no_more_cqes(ring)
        assert L.io_uring_register_files_update_tag(ring, 0, [fds[2]], [333]) == 1
        assert reap(ring, 1) == [(111, 0, 0)]
        assert _fixed_read(ring, 0, 8) == (8, b"c" * 8)
        assert _fixed_read(ring, 1, 8) == (8, b"b" * 8)
        # IORING_REGISTER_FILES_SKIP leaves a slot (and its tag) alone.
        assert L.io_uring_register_files_update_tag(ring, 0, [L.IORING_REGISTER_FILES_SKIP], [0]) == 1
        assert no_more_cqes(ring)
        L.io_uring_unregister_files(ring)
        assert sorted(reap(ring, 2)) == [(222, 0, 0), (333, 0, 0)]
    finally:
        for fd in fds:
            os.close(fd)


def test_files_tags_sparse_entries_and_errors(ring, datafile):
    assert L.io_uring_register_files_tags(ring, [-1, datafile], None) == 0
    assert _fixed_read(ring, 0, 8)[0] == -errno.EBADF
    assert _fixed_read(ring, 1, 8) == (8, pattern(8))
    with pytest.raises(OSError) as exc:
        L.io_uring_register_files_tags(ring, [datafile], None)
    assert exc.value.errno == errno.EBUSY
    with pytest.raises(OSError) as exc:                      # a tag on an empty slot
        L.io_uring_register_files_update_tag(ring, 0, [-1], [5])
    assert exc.value.errno == errno.EINVAL
    with pytest.raises(OSError) as exc:
        L.io_uring_register_files_update_tag(ring, 5, [datafile], None)
    assert exc.value.errno == errno.EINVAL
    with pytest.raises(ValueError):
        L.io_uring_register_files_update_tag(ring, 0, [datafile], [1], 2)
    with pytest.raises(ValueError):
        L.io_uring_register_files_tags(ring, [datafile, datafile], [1])
    with pytest.raises(TypeError):
        L.io_uring_register_files_update_tag(ring, 0, ["fd"], None)


def test_files_sparse_and_update_tag(ring, datafile):
    assert L.io_uring_register_files_sparse(ring, 8) == 0
    assert _fixed_read(ring, 3, 8)[0] == -errno.EBADF
    assert L.io_uring_register_files_update_tag(ring, 3, [datafile], [44]) == 1
    assert _fixed_read(ring, 3, 8) == (8, pattern(8))
    assert L.io_uring_register_files_update_tag(ring, 3, [-1], [0]) == 1
    assert reap(ring, 1) == [(44, 0, 0)]
    assert _fixed_read(ring, 3, 8)[0] == -errno.EBADF
    with pytest.raises(OSError) as exc:
        L.io_uring_register_files_sparse(ring, 8)
    assert exc.value.errno == errno.EBUSY


def test_file_alloc_range(ring, tmp_path):
    if not hasattr(L, "io_uring_prep_openat_direct"):
        pytest.skip("io_uring_prep_openat_direct is not in this build")
    L.io_uring_register_files_sparse(ring, 8)
    assert L.io_uring_register_file_alloc_range(ring, 4, 2) == 0
    path = tmp_path / "f"
    path.write_bytes(b"allocated")
    results = []
    for ud in (1, 2, 3):
        sqe = sqe_for(ring, ud)
        L.io_uring_prep_openat_direct(sqe, -100, str(path), os.O_RDONLY, 0, L.IORING_FILE_INDEX_ALLOC)
        L.io_uring_submit(ring)
        results += [res for _, res, _ in reap(ring, 1)]
    assert results == [4, 5, -errno.ENFILE]                  # only slots 4 and 5 are handed out
    assert _fixed_read(ring, 4, 9) == (9, b"allocated")
    with pytest.raises(OSError) as exc:                      # beyond the table
        L.io_uring_register_file_alloc_range(ring, 6, 4)
    assert exc.value.errno == errno.EINVAL


def test_file_alloc_range_without_table(ring):
    with pytest.raises(OSError) as exc:
        L.io_uring_register_file_alloc_range(ring, 0, 1)
    assert exc.value.errno in (errno.ENXIO, errno.EINVAL)


# ---- personalities ------------------------------------------------------------------------------

@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch credentials")
def test_personality_runs_requests_with_registered_credentials(ring, tmp_path):
    secret = tmp_path / "secret"
    secret.write_bytes(b"root only")
    os.chmod(secret, 0o600)
    os.chmod(tmp_path, 0o755)
    os.setegid(65534)
    os.seteuid(65534)
    try:
        pid = L.io_uring_register_personality(ring)
    finally:
        os.seteuid(0)
        os.setegid(0)
    assert pid > 0

    def open_secret(personality):
        sqe = sqe_for(ring, 5)
        L.io_uring_prep_openat(sqe, -100, str(secret), os.O_RDONLY, 0)
        if personality is not None:
            sqe.personality = personality
        L.io_uring_submit(ring)
        [(_, res, _)] = reap(ring, 1)
        if res >= 0:
            os.close(res)
        return res

    assert open_secret(pid) == -errno.EACCES                 # as nobody
    assert open_secret(None) >= 0                            # as root
    assert L.io_uring_unregister_personality(ring, pid) == 0
    assert open_secret(pid) == -errno.EINVAL                 # unknown personality
    with pytest.raises(OSError) as exc:
        L.io_uring_unregister_personality(ring, pid)
    assert exc.value.errno == errno.EINVAL


def test_personality_ids_are_distinct(ring):
    a = L.io_uring_register_personality(ring)
    b = L.io_uring_register_personality(ring)
    assert a != b and a > 0 and b > 0
    assert L.io_uring_unregister_personality(ring, a) == 0
    assert L.io_uring_unregister_personality(ring, b) == 0


# ---- restrictions and enabling ------------------------------------------------------------------

def test_restrictions_apply_after_enable_rings():
    r = make_ring(8, L.IORING_SETUP_R_DISABLED)
    try:
        res = [L.io_uring_restriction(L.IORING_RESTRICTION_SQE_OP, sqe_op=L.IORING_OP_NOP),
               L.io_uring_restriction(L.IORING_RESTRICTION_REGISTER_OP, L.IORING_REGISTER_PROBE),
               L.io_uring_restriction(L.IORING_RESTRICTION_SQE_FLAGS_ALLOWED, sqe_flags=L.IOSQE_IO_LINK)]
        assert L.io_uring_register_restrictions(r, res) == 0
        sqe = sqe_for(r, 1)
        L.io_uring_prep_nop(sqe)
        with pytest.raises(OSError) as exc:                  # disabled: no submissions yet
            L.io_uring_submit(r)
        assert exc.value.errno == errno.EBADFD
        assert L.io_uring_enable_rings(r) == 0
        assert L.io_uring_submit(r) == 1
        assert reap(r, 1) == [(1, 0, 0)]
        buf = bytearray(8)
        fd = os.open("/dev/zero", os.O_RDONLY)
        try:
            sqe = sqe_for(r, 2)
            L.io_uring_prep_read(sqe, fd, buf, 8, 0)         # not allowed
            L.io_uring_submit(r)
            assert reap(r, 1) == [(2, -errno.EACCES, 0)]
        finally:
            os.close(fd)
        sqe = sqe_for(r, 3)
        L.io_uring_prep_nop(sqe)
        L.io_uring_sqe_set_flags(sqe, L.IOSQE_ASYNC)         # flag not allowed
        L.io_uring_submit(r)
        assert reap(r, 1) == [(3, -errno.EACCES, 0)]
        assert L.io_uring_get_probe_ring(r).last_op > 0      # an allowed register op
        with pytest.raises(OSError) as exc:
            L.io_uring_register_personality(r)               # not allowed
        assert exc.value.errno == errno.EACCES
    finally:
        L.io_uring_queue_exit(r)


def test_restrictions_and_enable_need_a_disabled_ring(ring):
    with pytest.raises(OSError) as exc:
        L.io_uring_register_restrictions(ring, [L.io_uring_restriction(L.IORING_RESTRICTION_SQE_OP, 0)])
    assert exc.value.errno == errno.EBADFD
    with pytest.raises(OSError) as exc:
        L.io_uring_enable_rings(ring)
    assert exc.value.errno == errno.EBADFD


def test_restrictions_bad_input():
    r = make_ring(8, L.IORING_SETUP_R_DISABLED)
    try:
        with pytest.raises(TypeError):
            L.io_uring_register_restrictions(r, [(0, 1)])
        with pytest.raises(ValueError):
            L.io_uring_register_restrictions(r, [L.io_uring_restriction(0, 0)], 2)
        with pytest.raises(OSError) as exc:                  # unknown restriction opcode
            L.io_uring_register_restrictions(r, [L.io_uring_restriction(99, 0)])
        assert exc.value.errno == errno.EINVAL
        assert L.io_uring_register_restrictions(r, [L.io_uring_restriction(L.IORING_RESTRICTION_SQE_OP, 0)]) == 0
        with pytest.raises(OSError) as exc:                  # only one registration
            L.io_uring_register_restrictions(r, [L.io_uring_restriction(L.IORING_RESTRICTION_SQE_OP, 0)])
        assert exc.value.errno == errno.EBUSY
        L.io_uring_enable_rings(r)
    finally:
        L.io_uring_queue_exit(r)


def test_io_uring_restriction_type():
    r = L.io_uring_restriction(L.IORING_RESTRICTION_SQE_OP, sqe_op=7)
    assert (r.opcode, r.sqe_op, r.register_op, r.sqe_flags) == (L.IORING_RESTRICTION_SQE_OP, 7, 7, 7)
    r.sqe_flags = 3
    assert r.sqe_op == 3                                     # one C union
    with pytest.raises(ValueError):
        L.io_uring_restriction(0, register_op=1, sqe_op=2)
    with pytest.raises(ValueError):
        L.io_uring_restriction(0, 256)
    with pytest.raises(ValueError):
        L.io_uring_restriction(-1)
    with pytest.raises(TypeError):
        L.io_uring_restriction("x")


# ---- io-wq --------------------------------------------------------------------------------------

def _worker_cpus():
    """Cpus_allowed_list of this thread's io-wq workers (threads named iou-wrk-<tid>)."""
    name = f"iou-wrk-{threading.get_native_id()}"[:15]
    out = []
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/comm") as f:
                if f.read().strip() != name:
                    continue
            with open(f"/proc/self/task/{tid}/status") as f:
                for line in f:
                    if line.startswith("Cpus_allowed_list:"):
                        out.append(line.split(":", 1)[1].strip())
        except FileNotFoundError:
            continue
    return out


def _start_worker(r):
    sqe = sqe_for(r, 77)
    L.io_uring_prep_nop(sqe)
    L.io_uring_sqe_set_flags(sqe, L.IOSQE_ASYNC)             # forces an io-wq worker
    L.io_uring_submit(r)
    assert reap(r, 1) == [(77, 0, 0)]


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs")
def test_iowq_aff_pins_new_workers():
    cpu = sorted(os.sched_getaffinity(0))[0]

    def body():
        r = make_ring(8)
        try:
            sqe = sqe_for(r, 1)
            L.io_uring_prep_nop(sqe)
            L.io_uring_submit(r)                             # this thread's io-wq exists now
            reap(r, 1)
            assert L.io_uring_register_iowq_aff(r, [cpu]) == 0
            _start_worker(r)
            return _worker_cpus()
        finally:
            L.io_uring_queue_exit(r)

    assert run_in_thread(body) == [str(cpu)]


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs")
def test_unregister_iowq_aff_restores_the_thread_mask():
    cpus = sorted(os.sched_getaffinity(0))

    def body():
        r = make_ring(8)
        try:
            sqe = sqe_for(r, 1)
            L.io_uring_prep_nop(sqe)
            L.io_uring_submit(r)
            reap(r, 1)
            assert L.io_uring_register_iowq_aff(r, 128, [cpus[-1]]) == 0   # C's (cpusz, mask)
            assert L.io_uring_unregister_iowq_aff(r) == 0
            _start_worker(r)
            return _worker_cpus()
        finally:
            L.io_uring_queue_exit(r)

    [allowed] = run_in_thread(body)
    listed = set()
    for part in allowed.split(","):
        lo, _, hi = part.partition("-")
        listed.update(range(int(lo), int(hi or lo) + 1))
    assert listed == set(cpus)


def test_iowq_aff_bad_input(ring):
    with pytest.raises(ValueError):
        L.io_uring_register_iowq_aff(ring, [-1])
    with pytest.raises(TypeError):
        L.io_uring_register_iowq_aff(ring, ["0"])
    with pytest.raises(TypeError):
        L.io_uring_register_iowq_aff(ring, 5)                # not an iterable
    with pytest.raises(ValueError):
        L.io_uring_register_iowq_aff(ring, 8, [64])          # does not fit 8 bytes
    with pytest.raises(OSError) as exc:
        L.io_uring_register_iowq_aff(ring, 1 << 31, [0])     # liburing's own EINVAL
    assert exc.value.errno == errno.EINVAL
    with pytest.raises(OSError) as exc:
        L.io_uring_register_iowq_aff(ring, 0, [])            # the kernel's
    assert exc.value.errno == errno.EINVAL


def test_iowq_max_workers_returns_previous_limits():
    def body():
        r = make_ring(8)
        try:
            _start_worker(r)
            current = L.io_uring_register_iowq_max_workers(r, [0, 0])
            assert len(current) == 2 and current[0] > 0 and current[1] > 0
            assert L.io_uring_register_iowq_max_workers(r, (3, 5)) == current
            assert L.io_uring_register_iowq_max_workers(r, [0, 0]) == [3, 5]
            assert L.io_uring_register_iowq_max_workers(r, [0, 7]) == [3, 5]
            assert L.io_uring_register_iowq_max_workers(r, [0, 0]) == [3, 7]
            with pytest.raises(OSError) as exc:
                L.io_uring_register_iowq_max_workers(r, [2**31, 0])   # > INT_MAX
            assert exc.value.errno == errno.EINVAL
        finally:
            L.io_uring_queue_exit(r)

    run_in_thread(body)


def test_iowq_max_workers_bad_input(ring):
    with pytest.raises(ValueError):
        L.io_uring_register_iowq_max_workers(ring, [1])
    with pytest.raises(ValueError):
        L.io_uring_register_iowq_max_workers(ring, [1, 2, 3])
    with pytest.raises(ValueError):
        L.io_uring_register_iowq_max_workers(ring, [-1, 0])
    with pytest.raises(TypeError):
        L.io_uring_register_iowq_max_workers(ring, [1.5, 0])


# ---- synchronous cancel -------------------------------------------------------------------------

def test_sync_cancel_cancels_a_blocked_read(ring):
    r, w = os.pipe()
    try:
        buf = bytearray(16)
        sqe = sqe_for(ring, 42)
        L.io_uring_prep_read(sqe, r, buf, 16, 0)
        L.io_uring_submit(ring)
        assert no_more_cqes(ring)                            # blocked on the empty pipe
        assert L.io_uring_register_sync_cancel(ring, L.io_uring_sync_cancel_reg(addr=42)) == 0
        assert reap(ring, 1) == [(42, -errno.ECANCELED, 0)]
        with pytest.raises(OSError) as exc:                  # nothing left to cancel
            L.io_uring_register_sync_cancel(ring, L.io_uring_sync_cancel_reg(addr=42))
        assert exc.value.errno == errno.ENOENT
    finally:
        os.close(r)
        os.close(w)


def test_sync_cancel_by_fd_all(ring):
    r, w = os.pipe()
    try:
        bufs = [bytearray(8) for _ in range(3)]
        for i, buf in enumerate(bufs):
            L.io_uring_prep_read(sqe_for(ring, 100 + i), r, buf, 8, 0)
        L.io_uring_submit(ring)
        reg = L.io_uring_sync_cancel_reg(fd=r, flags=L.IORING_ASYNC_CANCEL_FD | L.IORING_ASYNC_CANCEL_ALL,
                                         timeout=L.kernel_timespec(5, 0))
        assert L.io_uring_register_sync_cancel(ring, reg) == 3    # ALL: how many were cancelled
        assert sorted(reap(ring, 3)) == [(100 + i, -errno.ECANCELED, 0) for i in range(3)]
    finally:
        os.close(r)
        os.close(w)


def test_sync_cancel_reg_type():
    reg = L.io_uring_sync_cancel_reg(addr=7)
    assert (reg.addr, reg.fd, reg.flags, reg.opcode) == (7, -1, 0, 0)
    assert (reg.timeout.tv_sec, reg.timeout.tv_nsec) == (-1, -1)   # forever
    reg.timeout = L.kernel_timespec(1, 2)
    assert (reg.timeout.tv_sec, reg.timeout.tv_nsec) == (1, 2)
    with pytest.raises(ValueError):
        L.io_uring_sync_cancel_reg(addr=-1)
    with pytest.raises(ValueError):
        L.io_uring_sync_cancel_reg(opcode=256)
    with pytest.raises(TypeError):
        L.io_uring_sync_cancel_reg(timeout=(1, 0))


def test_sync_cancel_reg_timeout_fields_stick(ring):
    """C fills reg.timeout field by field (liburing test/sync-cancel.c: reg.timeout.tv_nsec = 1);
    each assignment must reach the timeout the kernel reads, and assigning a whole timespec
    copies it."""
    reg = L.io_uring_sync_cancel_reg(addr=42, timeout=L.kernel_timespec(0, 0))
    reg.timeout.tv_sec = 200
    reg.timeout.tv_nsec = 5
    assert (reg.timeout.tv_sec, reg.timeout.tv_nsec) == (200, 5)
    ts = L.kernel_timespec(3, 4)
    reg.timeout = ts
    ts.tv_sec = 9                                            # a copy, as struct assignment
    assert (reg.timeout.tv_sec, reg.timeout.tv_nsec) == (3, 4)
    # A timeout set field by field is the one the kernel waits with.
    r, w = os.pipe()
    try:
        buf = bytearray(16)
        sqe = sqe_for(ring, 42)
        L.io_uring_prep_read(sqe, r, buf, 16, 0)
        L.io_uring_submit(ring)
        reg = L.io_uring_sync_cancel_reg(addr=42, timeout=L.kernel_timespec(0, 0))
        reg.timeout.tv_sec = 5
        assert L.io_uring_register_sync_cancel(ring, reg) == 0
        assert reap(ring, 1) == [(42, -errno.ECANCELED, 0)]
    finally:
        os.close(r)
        os.close(w)


def test_sync_cancel_bad_input(ring):
    with pytest.raises(TypeError):
        L.io_uring_register_sync_cancel(ring, None)
    with pytest.raises(OSError) as exc:                      # unknown flags
        L.io_uring_register_sync_cancel(ring, L.io_uring_sync_cancel_reg(flags=1 << 30))
    assert exc.value.errno == errno.EINVAL


# ---- synchronous message ------------------------------------------------------------------------

def _msg_ring_sqe_bytes(target_fd, res, user_data):
    sqe = bytearray(64)
    struct.pack_into("<BBHiQQII", sqe, 0, L.IORING_OP_MSG_RING, 0, 0, target_fd,
                     user_data, L.IORING_MSG_DATA, res, 0)
    return bytes(sqe)


def test_sync_msg_posts_a_cqe_on_the_target(ring):
    try:
        assert L.io_uring_register_sync_msg(_msg_ring_sqe_bytes(ring.ring_fd, 77, 0xABCD)) == 0
    except OSError as exc:
        skip_unless(exc, errno.EINVAL, errno.EOPNOTSUPP, what="IORING_REGISTER_SEND_MSG_RING")
        raise
    assert reap(ring, 1) == [(0xABCD, 77, 0)]


def test_sync_msg_from_a_prepared_sqe(ring, ring2):
    if not hasattr(L, "io_uring_prep_msg_ring"):
        pytest.skip("io_uring_prep_msg_ring is not in this build")
    sqe = L.io_uring_get_sqe(ring2)
    L.io_uring_prep_msg_ring(sqe, ring.ring_fd, 5, 0x55, 0)
    try:
        assert L.io_uring_register_sync_msg(sqe) == 0
    except OSError as exc:
        skip_unless(exc, errno.EINVAL, errno.EOPNOTSUPP, what="IORING_REGISTER_SEND_MSG_RING")
        raise
    assert reap(ring, 1) == [(0x55, 5, 0)]
    L.io_uring_prep_nop(sqe)                                 # it is still in ring2's SQ
    L.io_uring_submit(ring2)
    reap(ring2, 1)


def test_sync_msg_errors(ring):
    with pytest.raises(ValueError):
        L.io_uring_register_sync_msg(b"short")
    with pytest.raises(TypeError):
        L.io_uring_register_sync_msg(None)
    bad = bytearray(_msg_ring_sqe_bytes(ring.ring_fd, 1, 1))
    bad[0] = L.IORING_OP_NOP                                  # not a MSG_RING
    with pytest.raises(OSError) as exc:
        L.io_uring_register_sync_msg(bytes(bad))
    assert exc.value.errno == errno.EINVAL
    r, w = os.pipe()
    try:
        with pytest.raises(OSError) as exc:                  # the target is not a ring
            L.io_uring_register_sync_msg(_msg_ring_sqe_bytes(r, 1, 1))
        assert exc.value.errno in (errno.EBADFD, errno.EINVAL, errno.EOPNOTSUPP)
    finally:
        os.close(r)
        os.close(w)
    sqe = L.io_uring_get_sqe(ring)
    L.io_uring_prep_nop(sqe)
    L.io_uring_submit(ring)
    with pytest.raises(ValueError):                          # already submitted
        L.io_uring_register_sync_msg(sqe)
    reap(ring, 1)


# ---- NAPI ---------------------------------------------------------------------------------------

def test_napi_register_writes_back_previous_settings(ring):
    napi = L.io_uring_napi(busy_poll_to=50, prefer_busy_poll=1)
    try:
        assert L.io_uring_register_napi(ring, napi) == 0
    except OSError as exc:
        skip_unless(exc, errno.EINVAL, errno.EOPNOTSUPP, what="IORING_REGISTER_NAPI")
        raise
    assert napi.prefer_busy_poll == 0                        # what was in force before
    napi2 = L.io_uring_napi(busy_poll_to=100, prefer_busy_poll=0)
    assert L.io_uring_register_napi(ring, napi2) == 0
    assert (napi2.busy_poll_to, napi2.prefer_busy_poll) == (50, 1)
    out = L.io_uring_napi()
    assert L.io_uring_unregister_napi(ring, out) == 0
    assert (out.busy_poll_to, out.prefer_busy_poll) == (100, 0)
    assert L.io_uring_unregister_napi(ring) == 0              # C's NULL
    probe = L.io_uring_napi()
    L.io_uring_unregister_napi(ring, probe)
    assert (probe.busy_poll_to, probe.prefer_busy_poll) == (0, 0)


def test_napi_errors():
    r = make_ring(8, L.IORING_SETUP_IOPOLL)
    try:
        with pytest.raises(OSError) as exc:
            L.io_uring_register_napi(r, L.io_uring_napi(busy_poll_to=10))
        assert exc.value.errno in (errno.EINVAL, errno.EOPNOTSUPP)
    finally:
        L.io_uring_queue_exit(r)
    with pytest.raises(ValueError):
        L.io_uring_napi(busy_poll_to=-1)
    with pytest.raises(ValueError):
        L.io_uring_napi(prefer_busy_poll=256)


# ---- clock and the raw enter with an extended argument ------------------------------------------

def _abs_wait(ring, clock, seconds):
    now = time.clock_gettime(clock) + seconds
    ts = L.kernel_timespec(int(now), int((now % 1) * 1e9))
    arg = L.io_uring_getevents_arg(ts=ts)
    flags = L.IORING_ENTER_GETEVENTS | L.IORING_ENTER_EXT_ARG | L.IORING_ENTER_ABS_TIMER
    start = time.monotonic()
    with pytest.raises(OSError) as exc:
        L.io_uring_enter2(ring.ring_fd, 0, 1, flags, arg)
    assert exc.value.errno == errno.ETIME
    return time.monotonic() - start


def test_register_clock_and_absolute_waits(ring):
    try:
        assert L.io_uring_register_clock(ring, L.io_uring_clock_register(time.CLOCK_BOOTTIME)) == 0
    except OSError as exc:
        skip_unless(exc, errno.EINVAL, what="IORING_REGISTER_CLOCK")
        raise
    assert 0.15 < _abs_wait(ring, time.CLOCK_BOOTTIME, 0.2) < 3
    assert L.io_uring_register_clock(ring, L.io_uring_clock_register(time.CLOCK_MONOTONIC)) == 0
    assert 0.15 < _abs_wait(ring, time.CLOCK_MONOTONIC, 0.2) < 3
    with pytest.raises(OSError) as exc:
        L.io_uring_register_clock(ring, L.io_uring_clock_register(time.CLOCK_REALTIME))
    assert exc.value.errno == errno.EINVAL
    with pytest.raises(TypeError):
        L.io_uring_register_clock(ring, time.CLOCK_MONOTONIC)


# ---- memory regions -----------------------------------------------------------------------------

def _reg_wait(mem, index, seconds, flags):
    struct.pack_into("<qqIIQI12x16x", mem, index * 64, int(seconds), int((seconds % 1) * 1e9),
                     0, flags, 0, 0)


def test_region_as_registered_wait_argument():
    r = make_ring(8, L.IORING_SETUP_R_DISABLED)
    mem = mmap.mmap(-1, 4096)
    try:
        desc = L.io_uring_region_desc(mem, flags=L.IORING_MEM_REGION_TYPE_USER)
        reg = L.io_uring_mem_region_reg(desc, L.IORING_MEM_REGION_REG_WAIT_ARG)
        try:
            assert L.io_uring_register_region(r, reg) == 0
        except OSError as exc:
            skip_unless(exc, errno.EINVAL, errno.EOPNOTSUPP, what="IORING_REGISTER_MEM_REGION")
            raise
        L.io_uring_enable_rings(r)
        del reg, desc
        _reg_wait(mem, 1, 0.2, L.IORING_REG_WAIT_TS)         # slot 1 of the region
        flags = L.IORING_ENTER_GETEVENTS | L.IORING_ENTER_EXT_ARG | L.IORING_ENTER_EXT_ARG_REG
        start = time.monotonic()
        with pytest.raises(OSError) as exc:
            L.io_uring_enter2(r.ring_fd, 0, 1, flags, 64)
        assert exc.value.errno == errno.ETIME
        assert 0.15 < time.monotonic() - start < 3           # the kernel read our timeout
        with pytest.raises(BufferError):
            mem.close()                                      # pinned for the ring's life
        with pytest.raises(OSError) as exc:                  # beyond the region
            L.io_uring_enter2(r.ring_fd, 0, 1, flags, 4096)
        assert exc.value.errno == errno.EFAULT
        with pytest.raises(OSError) as exc:                  # one region per ring
            L.io_uring_register_region(r, L.io_uring_mem_region_reg(L.io_uring_region_desc(
                mmap.mmap(-1, 4096), flags=L.IORING_MEM_REGION_TYPE_USER)))
        assert exc.value.errno == errno.EBUSY
    finally:
        L.io_uring_queue_exit(r)
    mem.close()                                              # released at queue_exit


def test_region_kernel_allocated_is_mappable(ring):
    desc = L.io_uring_region_desc(None, 4096)
    try:
        assert L.io_uring_register_region(ring, L.io_uring_mem_region_reg(desc)) == 0
    except OSError as exc:
        skip_unless(exc, errno.EINVAL, errno.EOPNOTSUPP, what="IORING_REGISTER_MEM_REGION")
        raise
    assert desc.mmap_offset != 0                             # written by the kernel
    m = mmap.mmap(ring.ring_fd, 4096, offset=desc.mmap_offset)
    m[:5] = b"hello"
    assert m[:5] == b"hello"
    m.close()


def test_region_errors():
    r = make_ring(8)
    try:
        with pytest.raises(OSError) as exc:                  # WAIT_ARG needs a disabled ring
            L.io_uring_register_region(r, L.io_uring_mem_region_reg(
                L.io_uring_region_desc(mmap.mmap(-1, 4096), flags=L.IORING_MEM_REGION_TYPE_USER),
                L.IORING_MEM_REGION_REG_WAIT_ARG))
        assert exc.value.errno == errno.EINVAL
        unaligned = bytearray(8192)
        view = memoryview(unaligned)[1:4097]
        with pytest.raises(OSError) as exc:
            L.io_uring_register_region(r, L.io_uring_mem_region_reg(
                L.io_uring_region_desc(view, flags=L.IORING_MEM_REGION_TYPE_USER)))
        assert exc.value.errno == errno.EINVAL
    finally:
        L.io_uring_queue_exit(r)
    with pytest.raises(ValueError):
        L.io_uring_region_desc(bytearray(10), 20)
    with pytest.raises(TypeError):
        L.io_uring_region_desc(b"read-only")
    with pytest.raises(TypeError):
        L.io_uring_mem_region_reg(None)


# ---- zero-copy receive --------------------------------------------------------------------------

def _ifq_reg(area_mem, rq_mem, if_idx):
    area = L.io_uring_zcrx_area_reg(area_mem)
    region = L.io_uring_region_desc(rq_mem, flags=L.IORING_MEM_REGION_TYPE_USER)
    return L.io_uring_zcrx_ifq_reg(if_idx=if_idx, if_rxq=0, rq_entries=64, area_ptr=area, region_ptr=region)


def test_register_ifq_fails_cleanly_without_a_capable_nic():
    area_mem, rq_mem = mmap.mmap(-1, 65536), mmap.mmap(-1, 4096)
    plain = make_ring(8)
    try:
        with pytest.raises(OSError) as exc:                  # needs DEFER_TASKRUN + CQE32
            L.io_uring_register_ifq(plain, _ifq_reg(area_mem, rq_mem, socket.if_nametoindex("lo")))
        assert exc.value.errno in (errno.EINVAL, errno.EPERM, errno.EOPNOTSUPP)
    finally:
        L.io_uring_queue_exit(plain)
    r = make_ring(8, L.IORING_SETUP_DEFER_TASKRUN | L.IORING_SETUP_SINGLE_ISSUER | L.IORING_SETUP_CQE32)
    try:
        for name in [n for _, n in socket.if_nameindex()]:
            reg = _ifq_reg(area_mem, rq_mem, socket.if_nametoindex(name))
            try:
                L.io_uring_register_ifq(r, reg)
            except OSError as exc:
                assert exc.errno in (errno.EINVAL, errno.ENODEV, errno.EPERM, errno.EOPNOTSUPP,
                                     errno.ENOENT, errno.EFAULT, errno.ENOMEM, errno.ERANGE)
                continue
            pytest.skip(f"{name} supports zero-copy receive; this test is for NICs that do not")
        reg = None
        with pytest.raises(OSError) as exc:                  # no such interface
            L.io_uring_register_ifq(r, _ifq_reg(area_mem, rq_mem, 0x7FFFFFF0))
        assert exc.value.errno in (errno.ENODEV, errno.EINVAL, errno.EOPNOTSUPP)
    finally:
        L.io_uring_queue_exit(r)
    area_mem.close()                                         # nothing kept pinned after failures
    rq_mem.close()


def test_zcrx_ctrl_fails_cleanly(ring):
    ctrl = L.zcrx_ctrl(zcrx_id=0, op=L.ZCRX_CTRL_FLUSH_RQ)
    with pytest.raises(OSError) as exc:
        L.io_uring_register_zcrx_ctrl(ring, ctrl)
    # EINVAL where IORING_REGISTER_ZCRX_CTRL is unknown (6.18), ENXIO where no zcrx 0 exists.
    assert exc.value.errno in (errno.EINVAL, errno.ENXIO, errno.EOPNOTSUPP)
    assert ctrl.zcrx_fd == 0


def test_zcrx_types():
    area = L.io_uring_zcrx_area_reg(bytearray(8192), 4096)
    assert area.len == 4096 and area.addr != 0 and area.rq_area_token == 0
    dma = L.io_uring_zcrx_area_reg(4096, 8192, flags=L.IORING_ZCRX_AREA_DMABUF, dmabuf_fd=3)
    assert (dma.addr, dma.len, dma.dmabuf_fd) == (4096, 8192, 3)
    with pytest.raises(ValueError):
        L.io_uring_zcrx_area_reg(bytearray(10), 20)
    with pytest.raises(TypeError):
        L.io_uring_zcrx_area_reg(1234)                       # a pointer must be a buffer
    reg = L.io_uring_zcrx_ifq_reg(if_idx=1, rq_entries=8, area_ptr=area)
    assert reg.area_ptr is area and reg.region_ptr is None
    assert (reg.offsets.head, reg.offsets.tail, reg.offsets.rqes, reg.zcrx_id) == (0, 0, 0, 0)
    with pytest.raises(TypeError):
        L.io_uring_zcrx_ifq_reg(area_ptr=bytearray(10))


# ---- BPF filters --------------------------------------------------------------------------------

BPF_RET_K = 0x06      # BPF_RET | BPF_K


def _deny_nop():
    return L.io_uring_bpf(filter=L.io_uring_bpf_filter(L.IORING_OP_NOP, 0, [(BPF_RET_K, 0, 0, 0)]))


def _kernel_register_opcodes():
    q = L.io_uring_query_opcode()
    L.io_uring_register_query(L.io_uring_query_hdr(L.IO_URING_QUERY_OPCODES, q))
    return q.nr_register_opcodes


def test_register_bpf_filter(ring):
    supported = _kernel_register_opcodes() > L.IORING_REGISTER_BPF_FILTER
    if not supported:
        with pytest.raises(OSError) as exc:
            L.io_uring_register_bpf_filter(ring, _deny_nop())
        assert exc.value.errno == errno.EINVAL
        return
    assert L.io_uring_register_bpf_filter(ring, _deny_nop()) == 0
    L.io_uring_prep_nop(sqe_for(ring, 1))
    L.io_uring_submit(ring)
    assert reap(ring, 1) == [(1, -errno.EACCES, 0)]


def test_register_bpf_filter_task_in_a_child():
    # A task filter cannot be removed: only ever register one in a throw-away child.
    supported = _kernel_register_opcodes() > L.IORING_REGISTER_BPF_FILTER
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            try:
                L.io_uring_register_bpf_filter_task(_deny_nop())
                code = 0
            except OSError as exc:
                code = exc.errno
            if code == 0:
                child = L.io_uring()
                L.io_uring_queue_init(4, child, 0)
                sqe = L.io_uring_get_sqe(child)
                L.io_uring_prep_nop(sqe)
                L.io_uring_submit(child)
                cqe = L.io_uring_wait_cqe(child)
                code = 200 if cqe.res == -errno.EACCES else 201
        finally:
            os.write(wfd, bytes([code & 0xFF]))
            os._exit(0)
    os.close(wfd)
    try:
        result = os.read(rfd, 1)
    finally:
        os.close(rfd)
        os.waitpid(pid, 0)
    assert result == bytes([200 if supported else errno.EINVAL])


def test_bpf_types():
    f = L.io_uring_bpf_filter(L.IORING_OP_READ, L.IO_URING_BPF_FILTER_DENY_REST, [(6, 0, 0, 1), (6, 0, 0, 0)])
    assert (f.opcode, f.flags, f.filter_len) == (L.IORING_OP_READ, 1, 2)
    assert f.filter_ptr == [(6, 0, 0, 1), (6, 0, 0, 0)]
    raw = L.io_uring_bpf_filter(0, 0, struct.pack("<HBBI", 6, 0, 0, 1))
    assert raw.filter_ptr == [(6, 0, 0, 1)] and raw.filter_len == 1
    assert L.io_uring_bpf_filter(0, 0, [(6, 0, 0, 1)] * 3, 2).filter_len == 2
    b = L.io_uring_bpf(filter=f)
    assert b.cmd_type == L.IO_URING_BPF_CMD_FILTER and b.filter is f
    with pytest.raises(ValueError):
        L.io_uring_bpf_filter(0, 0, b"1234567")              # not whole instructions
    with pytest.raises(ValueError):
        L.io_uring_bpf_filter(0, 0, [(6, 0, 0, 1)], 2)
    with pytest.raises(TypeError):
        L.io_uring_bpf_filter(0, 0, [(6, 0, 0)])
    with pytest.raises(ValueError):
        L.io_uring_bpf_filter(0, 0, [(0x10000, 0, 0, 0)])
    with pytest.raises(TypeError):
        L.io_uring_register_bpf_filter_task(None)


# ---- queries ------------------------------------------------------------------------------------

def test_query_opcodes_agrees_with_the_probe():
    q = L.io_uring_query_opcode()
    hdr = L.io_uring_query_hdr(L.IO_URING_QUERY_OPCODES, q)
    try:
        assert L.io_uring_register_query(hdr) == 0
    except OSError as exc:
        skip_unless(exc, errno.EINVAL, what="IORING_REGISTER_QUERY")
        raise
    assert hdr.result == 0 and hdr.size > 0
    probe = L.io_uring_get_probe()
    assert q.nr_request_opcodes == probe.last_op + 1
    assert q.nr_register_opcodes > L.IORING_REGISTER_MEM_REGION
    ring = make_ring(4)
    try:
        assert q.feature_flags & ring.features == ring.features
    finally:
        L.io_uring_queue_exit(ring)
    assert q.ring_setup_flags & L.IORING_SETUP_SQPOLL
    assert q.enter_flags & L.IORING_ENTER_GETEVENTS
    assert q.sqe_flags & L.IOSQE_IO_LINK


def test_query_chain_reports_each_entry():
    q1, q2 = L.io_uring_query_opcode(), L.io_uring_query_opcode()
    unknown = L.io_uring_query_hdr(0x7FFF, bytearray(16))
    second = L.io_uring_query_hdr(L.IO_URING_QUERY_OPCODES, q2, next_entry=unknown)
    first = L.io_uring_query_hdr(L.IO_URING_QUERY_OPCODES, q1, next_entry=second)
    try:
        assert L.io_uring_register_query(first) == 0
    except OSError as exc:
        skip_unless(exc, errno.EINVAL, what="IORING_REGISTER_QUERY")
        raise
    assert first.result == 0 and second.result == 0
    assert q1.nr_request_opcodes == q2.nr_request_opcodes > 0
    assert unknown.result == -errno.EOPNOTSUPP
    assert first.next_entry is second and second.next_entry is unknown
    # Like C, a header whose result is set must be cleared before it is sent again.
    assert L.io_uring_register_query(L.io_uring_query_hdr(L.IO_URING_QUERY_OPCODES, bytearray(48))) == 0


def test_query_bad_input():
    with pytest.raises(ValueError):
        L.io_uring_query_hdr(L.IO_URING_QUERY_OPCODES, bytearray(8), 16)
    with pytest.raises(TypeError):
        L.io_uring_query_hdr(L.IO_URING_QUERY_OPCODES, b"read-only")
    with pytest.raises(TypeError):
        L.io_uring_query_hdr(0, None, None, "next")
    with pytest.raises(TypeError):
        L.io_uring_register_query(None)
    hdr = L.io_uring_query_hdr(L.IO_URING_QUERY_OPCODES, None)   # size 0: refused per entry
    assert L.io_uring_register_query(hdr) == 0
    assert hdr.result == -errno.EINVAL


# ---- probe --------------------------------------------------------------------------------------

def test_register_probe(ring):
    probe = L.io_uring_probe()
    assert L.io_uring_register_probe(ring, probe, 256) == 0
    ref = L.io_uring_get_probe()
    assert probe.last_op == ref.last_op
    assert [o.flags for o in probe.ops] == [o.flags for o in ref.ops]
    small = L.io_uring_probe()
    assert L.io_uring_register_probe(ring, small, 4) == 0
    assert small.ops_len == 4 and [o.op for o in small.ops] == [0, 1, 2, 3]
    with pytest.raises(OSError) as exc:                      # not zeroed: the kernel refuses
        L.io_uring_register_probe(ring, probe, 256)
    assert exc.value.errno == errno.EINVAL
    with pytest.raises(ValueError):
        L.io_uring_register_probe(ring, L.io_uring_probe(), 257)
    with pytest.raises(TypeError):
        L.io_uring_register_probe(ring, None, 4)


# ---- the raw syscalls ---------------------------------------------------------------------------

def test_raw_setup_register_enter():
    p = L.io_uring_params()
    fd = L.io_uring_setup(8, p)
    try:
        assert os.readlink(f"/proc/self/fd/{fd}") == "anon_inode:[io_uring]"
        assert p.sq_entries == 8 and p.cq_entries == 16 and p.features != 0
        buf = bytearray(16 + 8 * 256)                        # struct io_uring_probe + 256 ops
        assert L.io_uring_register(fd, L.IORING_REGISTER_PROBE, buf, 256) == 0
        last_op, ops_len = buf[0], buf[1]
        assert last_op == L.io_uring_get_probe().last_op and ops_len == last_op + 1
        assert L.io_uring_register(fd, L.IORING_REGISTER_PERSONALITY, None, 0) > 0
        assert L.io_uring_enter(fd, 0, 0, 0) == 0
        start = time.monotonic()
        arg = L.io_uring_getevents_arg(ts=L.kernel_timespec(0, 100_000_000))
        with pytest.raises(OSError) as exc:
            L.io_uring_enter2(fd, 0, 1, L.IORING_ENTER_GETEVENTS | L.IORING_ENTER_EXT_ARG, arg)
        assert exc.value.errno == errno.ETIME
        assert time.monotonic() - start >= 0.08
        with pytest.raises(OSError) as exc:                  # the kernel checks sz
            L.io_uring_enter2(fd, 0, 1, L.IORING_ENTER_GETEVENTS | L.IORING_ENTER_EXT_ARG, arg, 16)
        assert exc.value.errno == errno.EINVAL
    finally:
        os.close(fd)


def test_raw_register_refuses_pointer_carrying_and_unknown_opcodes(ring):
    """Opcodes whose argument holds pointers the kernel follows or keeps (here a query chain
    whose query_data points into a ctypes buffer), or that change what an io_uring tracks,
    must go through the typed functions that pin the memory: the raw call refuses them, and
    says which function to use. Unknown opcodes are refused too."""
    import ctypes
    data = bytearray(48)
    holder = (ctypes.c_char * 48).from_buffer(data)
    hdr = bytearray(40)                                      # struct io_uring_query_hdr
    struct.pack_into("<QQIIi12x", hdr, 0, 0, ctypes.addressof(holder), L.IO_URING_QUERY_OPCODES, 48, 0)
    with pytest.raises(ValueError, match="io_uring_register_query"):
        L.io_uring_register(-1, L.IORING_REGISTER_QUERY, hdr, 0)
    assert data == bytearray(48)                             # nothing reached the kernel
    del holder
    refused = {
        L.IORING_REGISTER_BUFFERS: "io_uring_register_buffers",
        L.IORING_REGISTER_FILES_UPDATE: "io_uring_register_files_update",
        L.IORING_REGISTER_FILES2: "io_uring_register_files_tags",
        L.IORING_REGISTER_FILES_UPDATE2: "io_uring_register_files_update_tag",
        L.IORING_REGISTER_BUFFERS2: "io_uring_register_buffers_tags",
        L.IORING_REGISTER_BUFFERS_UPDATE: "io_uring_register_buffers_update_tag",
        L.IORING_REGISTER_PBUF_RING: "io_uring_register_buf_ring",
        L.IORING_UNREGISTER_PBUF_RING: "io_uring_unregister_buf_ring",
        L.IORING_REGISTER_CLONE_BUFFERS: "io_uring_clone_buffers",
        L.IORING_REGISTER_ZCRX_IFQ: "io_uring_register_ifq",
        L.IORING_REGISTER_RESIZE_RINGS: "io_uring_resize_rings",
        L.IORING_REGISTER_MEM_REGION: "io_uring_register_region",
        L.IORING_REGISTER_BPF_FILTER: "io_uring_register_bpf_filter",
    }
    for op, use in refused.items():
        with pytest.raises(ValueError, match=use):
            L.io_uring_register(ring.ring_fd, op, bytearray(4096), 1)
        with pytest.raises(ValueError, match=use):           # also through a registered ring
            L.io_uring_register(ring.ring_fd, op | L.IORING_REGISTER_USE_REGISTERED_RING, None, 0)
    for op in (L.IORING_REGISTER_LAST, 200, 0x7FFFFFFF):
        with pytest.raises(ValueError, match="unknown opcode"):
            L.io_uring_register(ring.ring_fd, op, bytearray(4096), 0)


@pytest.mark.parametrize("op, nr, need", [
    ("IORING_REGISTER_PROBE", 4, 16 + 4 * 8),
    ("IORING_REGISTER_PROBE", 256, 16 + 256 * 8),
    ("IORING_REGISTER_FILES", 3, 3 * 4),
    ("IORING_REGISTER_EVENTFD", 1, 4),
    ("IORING_REGISTER_EVENTFD_ASYNC", 1, 4),
    ("IORING_REGISTER_RESTRICTIONS", 2, 2 * 16),
    ("IORING_REGISTER_IOWQ_AFF", 8, 8),
    ("IORING_REGISTER_IOWQ_MAX_WORKERS", 2, 8),
    ("IORING_REGISTER_RING_FDS", 2, 2 * 16),
    ("IORING_UNREGISTER_RING_FDS", 1, 16),
    ("IORING_REGISTER_SYNC_CANCEL", 0, 64),
    ("IORING_REGISTER_FILE_ALLOC_RANGE", 0, 16),
    ("IORING_REGISTER_PBUF_STATUS", 1, 40),
    ("IORING_REGISTER_NAPI", 1, 16),
    ("IORING_UNREGISTER_NAPI", 1, 16),
    ("IORING_REGISTER_CLOCK", 0, 16),
    ("IORING_REGISTER_SEND_MSG_RING", 1, 64),
    ("IORING_REGISTER_ZCRX_CTRL", 0, 72),
])
def test_raw_register_checks_the_buffer_size(ring, op, nr, need):
    """What the kernel reads or writes for each accepted opcode (the kernel's struct sizes):
    one byte less is refused before the syscall."""
    opcode = getattr(L, op)
    with pytest.raises(ValueError, match=f"uses {need} bytes"):
        L.io_uring_register(ring.ring_fd, opcode, bytearray(need - 1), nr)


def test_raw_register_probe_writes_only_what_it_was_given(ring):
    """The overflow the fuzzing found: 16 bytes given, nr_args=64 said. Refused; with the
    right size the kernel fills exactly the probe."""
    big = bytearray(4096)
    with pytest.raises(ValueError):
        L.io_uring_register(ring.ring_fd, L.IORING_REGISTER_PROBE, memoryview(big)[:16], 64)
    assert big == bytearray(4096)
    assert L.io_uring_register(ring.ring_fd, L.IORING_REGISTER_PROBE, memoryview(big)[:16 + 8 * 8], 8) == 0
    assert big[1] == 8 and big[16 + 8 * 8:] == bytes(4096 - 16 - 8 * 8)


def test_raw_register_opcodes_without_argument(ring):
    """Opcodes that take no argument accept None, as C's NULL."""
    pid = L.io_uring_register(ring.ring_fd, L.IORING_REGISTER_PERSONALITY, None, 0)
    assert pid > 0
    assert L.io_uring_register(ring.ring_fd, L.IORING_UNREGISTER_PERSONALITY, None, pid) == 0
    with pytest.raises(OSError) as exc:                      # nothing registered
        L.io_uring_register(ring.ring_fd, L.IORING_UNREGISTER_EVENTFD, None, 0)
    assert exc.value.errno == errno.ENXIO


def test_raw_enter_waits_on_a_managed_ring(ring):
    L.io_uring_prep_nop(sqe_for(ring, 3))
    assert L.io_uring_submit(ring) == 1
    assert L.io_uring_enter(ring.ring_fd, 0, 1, L.IORING_ENTER_GETEVENTS) == 0
    assert L.io_uring_cq_ready(ring) == 1
    assert reap(ring, 1) == [(3, 0, 0)]
    assert L.io_uring_enter(ring.ring_fd, 0, 0, L.IORING_ENTER_GETEVENTS, [2, 15]) == 0
    assert L.io_uring_enter2(ring.ring_fd, 0, 0, L.IORING_ENTER_GETEVENTS, [2, 15]) == 0


def test_raw_syscall_errors(ring):
    with pytest.raises(OSError) as exc:
        L.io_uring_setup(0, L.io_uring_params())
    assert exc.value.errno == errno.EINVAL
    with pytest.raises(OSError) as exc:
        L.io_uring_setup(8, L.io_uring_params(flags=1 << 31))
    assert exc.value.errno == errno.EINVAL
    r, w = os.pipe()
    try:
        with pytest.raises(OSError) as exc:
            L.io_uring_enter(r, 0, 0, 0)
        assert exc.value.errno == errno.EOPNOTSUPP
        with pytest.raises(OSError) as exc:
            L.io_uring_register(r, L.IORING_REGISTER_PROBE, bytearray(16), 0)
        assert exc.value.errno == errno.EOPNOTSUPP
    finally:
        os.close(r)
        os.close(w)
    with pytest.raises(OSError) as exc:
        L.io_uring_enter(10_000, 0, 0, 0)
    assert exc.value.errno == errno.EBADF
    with pytest.raises(TypeError):                           # the kernel may write into arg
        L.io_uring_register(ring.ring_fd, L.IORING_REGISTER_PROBE, b"\0" * 64, 4)
    with pytest.raises(ValueError):
        L.io_uring_enter(-2, 0, 0, 0)
    with pytest.raises(ValueError):
        L.io_uring_enter(ring.ring_fd, 0, 0, 0, [1000])      # not a signal
    arg = L.io_uring_getevents_arg()
    with pytest.raises(ValueError):                          # getevents arg without EXT_ARG
        L.io_uring_enter2(ring.ring_fd, 0, 0, 0, arg)
    with pytest.raises(TypeError):                           # a sigset with EXT_ARG
        L.io_uring_enter2(ring.ring_fd, 0, 0, L.IORING_ENTER_EXT_ARG, [2])
    with pytest.raises(TypeError):                           # an offset without EXT_ARG_REG
        L.io_uring_enter2(ring.ring_fd, 0, 0, L.IORING_ENTER_EXT_ARG, 0)
    with pytest.raises(ValueError):
        L.io_uring_enter2(ring.ring_fd, 0, 0, L.IORING_ENTER_EXT_ARG, arg, 25)


def test_getevents_arg_type():
    ts = L.kernel_timespec(1, 5)
    arg = L.io_uring_getevents_arg([2], None, 10, ts)
    assert arg.sigmask == (2,) and arg.sigmask_sz == 8 and arg.min_wait_usec == 10 and arg.ts is ts
    assert L.io_uring_getevents_arg().sigmask_sz == 0
    with pytest.raises(ValueError):
        L.io_uring_getevents_arg(sigmask_sz=9)
    with pytest.raises(TypeError):
        L.io_uring_getevents_arg(ts=(1, 0))


def test_ring_closed_raises_value_error():
    r = make_ring(4)
    L.io_uring_queue_exit(r)
    for call in (lambda: L.io_uring_register_personality(r),
                 lambda: L.io_uring_enable_rings(r),
                 lambda: L.io_uring_register_iowq_max_workers(r, [0, 0]),
                 lambda: L.io_uring_register_files_sparse(r, 1),
                 lambda: L.io_uring_register_napi(r, L.io_uring_napi()),
                 lambda: L.io_uring_register_probe(r, L.io_uring_probe(), 4)):
        with pytest.raises(ValueError):
            call()

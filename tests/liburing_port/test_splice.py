"""liburing test/splice.c: IORING_OP_SPLICE file -> pipe (implicit and explicit offsets),
pipe -> file, pipe -> pipe, zero-length splices, offsets on pipes (-ESPIPE/-EINVAL), and
IORING_OP_TEE (set by assigning sqe->opcode over a splice prep), first with plain fds, then
with registered files (SPLICE_F_FD_IN_FIXED, IOSQE_FIXED_FILE)."""
import errno
import os

from ioring.liburing import *

from .conftest import exit_status

BUF_SIZE = 16 * 4096


class test_ctx:
    def __init__(self):
        self.real_pipe1 = [-1, -1]
        self.real_pipe2 = [-1, -1]
        self.real_fd_in = self.real_fd_out = -1
        # fds or for registered files
        self.pipe1 = [-1, -1]
        self.pipe2 = [-1, -1]
        self.fd_in = self.fd_out = -1
        self.buf_in = bytearray(BUF_SIZE)
        self.buf_out = bytearray(BUF_SIZE)


splice_flags = 0
sqe_flags = 0
has_splice = 0
has_tee = 0


def read_buf(fd, buf, length):
    view = memoryview(buf)[:length]
    while len(view):
        n = os.readv(fd, [view])
        view = view[n:]
    return 0


def write_buf(fd, buf, length):
    view = memoryview(buf)[:length]
    while len(view):
        n = os.write(fd, view)
        view = view[n:]
    return 0


def check_content(fd, buf, length, src):
    ret = read_buf(fd, buf, length)
    if ret:
        return ret
    return 0 if bytes(buf[:length]) == bytes(src[:length]) else -1


def create_file(filename):
    fd = os.open(filename, os.O_RDWR | os.O_CREAT, 0o644)
    os.unlink(filename)
    return fd


def init_splice_ctx(ctx):
    ctx.fd_in = create_file(".splice-test-in")
    ctx.fd_out = create_file(".splice-test-out")

    # get random data
    ctx.buf_in[:] = os.urandom(BUF_SIZE)

    # populate file
    ret = write_buf(ctx.fd_in, ctx.buf_in, BUF_SIZE)
    if ret:
        return ret

    ctx.pipe1 = list(os.pipe())
    ctx.pipe2 = list(os.pipe())

    ctx.real_pipe1 = list(ctx.pipe1)
    ctx.real_pipe2 = list(ctx.pipe2)
    ctx.real_fd_in = ctx.fd_in
    ctx.real_fd_out = ctx.fd_out
    return 0


def do_splice_op(ring, fd_in, off_in, fd_out, off_out, length, opcode):
    while True:
        sqe = io_uring_get_sqe(ring)
        assert sqe is not None, "get sqe failed"
        io_uring_prep_splice(sqe, fd_in, off_in, fd_out, off_out, length, splice_flags)
        sqe.flags |= sqe_flags
        sqe.user_data = 42
        sqe.opcode = opcode

        ret = io_uring_submit(ring)
        assert ret == 1, f"sqe submit failed: {ret}"

        cqe = io_uring_wait_cqe(ring)

        if cqe.res <= 0:
            io_uring_cqe_seen(ring, cqe)
            return cqe.res

        length -= cqe.res
        if off_in != -1:
            off_in += cqe.res
        if off_out != -1:
            off_out += cqe.res
        io_uring_cqe_seen(ring, cqe)
        if not length:
            return 0


def do_splice(ring, fd_in, off_in, fd_out, off_out, length):
    return do_splice_op(ring, fd_in, off_in, fd_out, off_out, length, IORING_OP_SPLICE)


def do_tee(ring, fd_in, fd_out, length):
    return do_splice_op(ring, fd_in, 0, fd_out, 0, length, IORING_OP_TEE)


def check_splice_support(ring, ctx):
    global has_splice
    ret = do_splice(ring, -1, 0, -1, 0, BUF_SIZE)
    has_splice = (ret == -errno.EBADF)


def check_tee_support(ring, ctx):
    global has_tee
    ret = do_tee(ring, -1, -1, BUF_SIZE)
    has_tee = (ret == -errno.EBADF)


def check_zero_splice(ring, ctx):
    ret = do_splice(ring, ctx.fd_in, -1, ctx.pipe1[1], -1, 0)
    if ret:
        return ret
    return do_splice(ring, ctx.pipe2[0], -1, ctx.pipe1[1], -1, 0)


def splice_to_pipe(ring, ctx):
    os.lseek(ctx.real_fd_in, 0, os.SEEK_SET)

    # implicit file offset
    ret = do_splice(ring, ctx.fd_in, -1, ctx.pipe1[1], -1, BUF_SIZE)
    if ret:
        return ret

    ret = check_content(ctx.real_pipe1[0], ctx.buf_out, BUF_SIZE, ctx.buf_in)
    if ret:
        return ret

    # explicit file offset
    ret = do_splice(ring, ctx.fd_in, 0, ctx.pipe1[1], -1, BUF_SIZE)
    if ret:
        return ret

    return check_content(ctx.real_pipe1[0], ctx.buf_out, BUF_SIZE, ctx.buf_in)


def splice_from_pipe(ring, ctx):
    ret = write_buf(ctx.real_pipe1[1], ctx.buf_in, BUF_SIZE)
    if ret:
        return ret
    ret = do_splice(ring, ctx.pipe1[0], -1, ctx.fd_out, 0, BUF_SIZE)
    if ret:
        return ret
    ret = check_content(ctx.real_fd_out, ctx.buf_out, BUF_SIZE, ctx.buf_in)
    if ret:
        return ret

    os.ftruncate(ctx.real_fd_out, 0)
    return os.lseek(ctx.real_fd_out, 0, os.SEEK_SET)


def splice_pipe_to_pipe(ring, ctx):
    ret = do_splice(ring, ctx.fd_in, 0, ctx.pipe1[1], -1, BUF_SIZE)
    if ret:
        return ret
    ret = do_splice(ring, ctx.pipe1[0], -1, ctx.pipe2[1], -1, BUF_SIZE)
    if ret:
        return ret

    return check_content(ctx.real_pipe2[0], ctx.buf_out, BUF_SIZE, ctx.buf_in)


def fail_splice_pipe_offset(ring, ctx):
    ret = do_splice(ring, ctx.fd_in, 0, ctx.pipe1[1], 0, BUF_SIZE)
    if ret not in (-errno.ESPIPE, -errno.EINVAL):
        return ret

    ret = do_splice(ring, ctx.pipe1[0], 0, ctx.fd_out, 0, BUF_SIZE)
    if ret not in (-errno.ESPIPE, -errno.EINVAL):
        return ret
    return 0


def fail_tee_nonpipe(ring, ctx):
    ret = do_tee(ring, ctx.fd_in, ctx.pipe1[1], BUF_SIZE)
    if ret not in (-errno.ESPIPE, -errno.EINVAL):
        return ret
    return 0


def fail_tee_offset(ring, ctx):
    ret = do_splice_op(ring, ctx.pipe2[0], -1, ctx.pipe1[1], 0, BUF_SIZE, IORING_OP_TEE)
    if ret not in (-errno.ESPIPE, -errno.EINVAL):
        return ret

    ret = do_splice_op(ring, ctx.pipe2[0], 0, ctx.pipe1[1], -1, BUF_SIZE, IORING_OP_TEE)
    if ret not in (-errno.ESPIPE, -errno.EINVAL):
        return ret
    return 0


def check_tee(ring, ctx):
    ret = write_buf(ctx.real_pipe1[1], ctx.buf_in, BUF_SIZE)
    if ret:
        return ret
    ret = do_tee(ring, ctx.pipe1[0], ctx.pipe2[1], BUF_SIZE)
    if ret:
        return ret

    ret = check_content(ctx.real_pipe1[0], ctx.buf_out, BUF_SIZE, ctx.buf_in)
    assert ret == 0, "tee(), invalid src data"

    ret = check_content(ctx.real_pipe2[0], ctx.buf_out, BUF_SIZE, ctx.buf_in)
    assert ret == 0, "tee(), invalid dst data"
    return 0


def check_zero_tee(ring, ctx):
    return do_tee(ring, ctx.pipe2[0], ctx.pipe1[1], 0)


def test_splice(ring, ctx):
    if has_splice:
        for step in (check_zero_splice, splice_to_pipe, splice_from_pipe, splice_pipe_to_pipe,
                     fail_splice_pipe_offset):
            ret = step(ring, ctx)
            assert ret == 0, f"{step.__name__} failed {ret}"

    if has_tee:
        for step in (check_zero_tee, fail_tee_nonpipe, fail_tee_offset, check_tee):
            ret = step(ring, ctx)
            assert ret == 0, f"{step.__name__} failed {ret}"
    return 0


def main():
    global splice_flags, sqe_flags
    p = io_uring_params()
    ring = io_uring()
    io_uring_queue_init_params(8, ring, p)
    ctx = test_ctx()
    try:
        if not (p.features & IORING_FEAT_FAST_POLL):
            return 0                        # No splice support, skipping

        assert init_splice_ctx(ctx) == 0, "init failed"

        check_splice_support(ring, ctx)
        check_tee_support(ring, ctx)

        assert test_splice(ring, ctx) == 0, "basic splice tests failed"

        reg_fds = [ctx.real_pipe1[0], ctx.real_pipe1[1], ctx.real_pipe2[0], ctx.real_pipe2[1],
                   ctx.real_fd_in, ctx.real_fd_out]
        io_uring_register_files(ring, reg_fds, 6)

        # remap fds to registered
        ctx.pipe1 = [0, 1]
        ctx.pipe2 = [2, 3]
        ctx.fd_in = 4
        ctx.fd_out = 5

        splice_flags = SPLICE_F_FD_IN_FIXED
        sqe_flags = IOSQE_FIXED_FILE
        assert test_splice(ring, ctx) == 0, "registered fds splice tests failed"
    finally:
        splice_flags = sqe_flags = 0
        io_uring_queue_exit(ring)
        for fd in ctx.real_pipe1 + ctx.real_pipe2 + [ctx.real_fd_in, ctx.real_fd_out]:
            if fd >= 0:
                os.close(fd)
    return 0


def test_main():
    exit_status(main())

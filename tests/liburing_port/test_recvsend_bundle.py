"""liburing test/recvsend_bundle.c: send and recv bundles (IORING_RECVSEND_BUNDLE) over TCP
and UDP with provided buffers, from buffer rings and from classic provided buffers: plain
sends of provided buffers, a multishot recv bundle, send bundles, and both with the socket
(almost) full so that bundles are cut short and re-armed; the receiver runs on its own ring in
a thread, the two sides meet at barriers as in C.

C binds the fixed ports 10202/10203; the port's receiver binds an ephemeral port and hands it
to the sender before their 'connect' barrier, so that parallel runs never meet."""
import array
import errno
import mmap
import os
import socket
import threading

from ioring.liburing import *

from .conftest import T_EXIT_FAIL, T_EXIT_PASS, T_EXIT_SKIP, T_SETUP_SKIP, exit_status, t_create_ring_params

MSG_SIZE = 128
NR_MIN_MSGS = 4
NR_MAX_MSGS = 32
SEQ_SIZE = MSG_SIZE // 8

nr_msgs = 0
use_tcp = 0
classic_buffers = 0

RECV_BIDS = 16384
RECV_BID_MASK = RECV_BIDS - 1

HOST = "127.0.0.1"

SEND_BGID = 7
RECV_BGID = 8

no_send_mshot = 0


class recv_data:
    def __init__(self):
        self.connect = threading.Barrier(2, timeout=60)
        self.startup = threading.Barrier(2, timeout=60)
        self.barrier = threading.Barrier(2, timeout=60)
        self.finish = threading.Barrier(2, timeout=60)
        self.seq = 0
        self.recv_bytes = 0
        self.accept_fd = -1
        self.abort = 0
        self.max_sends = 0
        self.to_eagain = 0
        self.recv_buf = None
        self.send_bundle = 0
        self.recv_bundle = 0
        self.port = 0                       # the receiver's ephemeral port (C: use_port)
        self.ret = None


def arm_recv(ring, rd):
    sqe = io_uring_get_sqe(ring)
    io_uring_prep_recv_multishot(sqe, rd.accept_fd, None, 0, 0)
    if rd.recv_bundle and use_tcp:
        sqe.ioprio |= IORING_RECVSEND_BUNDLE
    sqe.buf_group = RECV_BGID
    sqe.flags |= IOSQE_BUFFER_SELECT
    sqe.user_data = 2

    ret = io_uring_submit(ring)
    assert ret == 1, f"submit failed: {ret}"
    return 0


def recv_prep(ring, rd):
    """(0, sockfd) with the multishot recv armed."""
    kind = socket.SOCK_STREAM if use_tcp else socket.SOCK_DGRAM
    sock = socket.socket(socket.AF_INET, kind, 0)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("0.0.0.0", 0))
    rd.port = sock.getsockname()[1]
    sockfd = sock.fileno()

    try:
        if use_tcp:
            sock.listen(1)

            rd.connect.wait()

            if rd.abort:
                sock.close()
                return 1, None

            conn, _ = sock.accept()
            use_fd = conn.detach()
        else:
            use_fd = sockfd
            rd.connect.wait()

        rd.accept_fd = use_fd
        rd.startup.wait()
        rd.barrier.wait()

        arm_recv(ring, rd)
    except BaseException:
        sock.close()
        raise
    return 0, sock.detach()


def verify_seq(rd, verify_ptr, verify_sz, start_bid):
    seqp = memoryview(verify_ptr).cast("Q")
    seq_size = verify_sz // 8
    for i in range(seq_size):
        if rd.seq != seqp[i]:
            print(f"bid={start_bid}, got seq {seqp[i]}, wanted {rd.seq}, offset {i}")
            return 0
        rd.seq += 1
    return 1


def recv_get_cqe(ring, rd):
    ts = kernel_timespec(0, 100000000)
    while True:
        cqe = io_uring_wait_cqe_timeout(ring, ts)
        if cqe is not None:
            return 0, cqe
        if rd.abort:                        # -ETIME
            return 1, None


def do_recv(ring, rd):
    next_bid = 0
    verify_ptr = bytearray(max(rd.recv_bytes, 8))
    verify_sz = 0
    verify_bid = 0

    try:
        while True:
            ret, cqe = recv_get_cqe(ring, rd)
            if ret:
                break
            if cqe.res == -errno.EINVAL:
                return 0                    # recv not supported, skipping
            assert cqe.res >= 0, f"failed recv cqe: {cqe.res}"
            assert cqe.flags & IORING_CQE_F_BUFFER, "no buffer set in recv"
            bid = cqe.flags >> IORING_CQE_BUFFER_SHIFT
            assert bid == next_bid, f"got bid {bid}, wanted {next_bid}"
            assert rd.recv_bundle or cqe.res <= MSG_SIZE, f"recv got wrong length: {cqe.res}"
            if not (verify_sz % MSG_SIZE):
                assert verify_seq(rd, verify_ptr, verify_sz, verify_bid)
                verify_bid += verify_sz // MSG_SIZE
                verify_bid &= RECV_BID_MASK
                verify_sz = 0
            else:
                src = bid * MSG_SIZE
                verify_ptr[verify_sz:verify_sz + cqe.res] = rd.recv_buf[src:src + cqe.res]
                verify_sz += cqe.res
            next_bid = bid + ((cqe.res + MSG_SIZE - 1) // MSG_SIZE)
            next_bid &= RECV_BID_MASK
            rd.recv_bytes -= cqe.res
            io_uring_cqe_seen(ring, cqe)
            if not (cqe.flags & IORING_CQE_F_MORE) and rd.recv_bytes:
                arm_recv(ring, rd)
            if not rd.recv_bytes:
                break

        if verify_sz and not (verify_sz % MSG_SIZE):
            assert verify_seq(rd, verify_ptr, verify_sz, verify_bid)
    finally:
        rd.finish.wait()
    return 0


def provide_classic_buffers(ring, buf, nbufs, bgid):
    sqe = io_uring_get_sqe(ring)
    io_uring_prep_provide_buffers(sqe, buf, MSG_SIZE, nbufs, bgid, 0)
    io_uring_submit(ring)

    cqe = io_uring_wait_cqe(ring)
    assert cqe.res == 0, f"provide buffers fail: {cqe.res}"
    io_uring_cqe_seen(ring, cqe)
    return 0


def recv_fn(rd):
    p = io_uring_params()
    p.cq_entries = 4096
    p.flags = IORING_SETUP_CQSIZE
    ring = io_uring()
    ret = t_create_ring_params(16, ring, p)
    if ret == T_SETUP_SKIP:
        rd.ret = 0
        return
    assert ret == 0, ret

    try:
        buf = mmap.mmap(-1, MSG_SIZE * RECV_BIDS)   # posix_memalign(&buf, pagesize, ...)

        if not classic_buffers:
            br = io_uring_setup_buf_ring(ring, RECV_BIDS, RECV_BGID, 0)

            ptr = memoryview(buf)
            for i in range(RECV_BIDS):
                io_uring_buf_ring_add(br, ptr[i * MSG_SIZE:(i + 1) * MSG_SIZE], MSG_SIZE, i, RECV_BID_MASK, i)
            io_uring_buf_ring_advance(br, RECV_BIDS)
            rd.recv_buf = buf
        else:
            provide_classic_buffers(ring, buf, RECV_BIDS, RECV_BGID)

        ret, sock = recv_prep(ring, rd)
        assert ret == 0 or rd.abort, f"recv_prep failed: {ret}"
        if ret:
            rd.ret = 1
            return

        rd.ret = do_recv(ring, rd)

        os.close(sock)
        if rd.accept_fd != sock:
            os.close(rd.accept_fd)
    finally:
        io_uring_queue_exit(ring)


def submit_bundle(ring, sockfd):
    sqe = io_uring_get_sqe(ring)
    io_uring_prep_send_bundle(sqe, sockfd, 0, 0)
    sqe.flags |= IOSQE_BUFFER_SELECT
    sqe.buf_group = SEND_BGID
    sqe.user_data = 1

    io_uring_submit(ring)


def __do_send_bundle(rd, ring, sockfd):
    global no_send_mshot
    bytes_needed = MSG_SIZE * nr_msgs

    submit_bundle(ring, sockfd)

    rd.barrier.wait()

    for i in range(nr_msgs):
        cqe = io_uring_wait_cqe(ring)
        if not i and cqe.res == -errno.EINVAL:
            rd.abort = 1
            no_send_mshot = 1
            break
        assert cqe.res >= 0, f"bad send cqe res: {cqe.res}"
        bytes_needed -= cqe.res
        if not bytes_needed:
            io_uring_cqe_seen(ring, cqe)
            break
        # bundle finished, resubmit as more is pending
        if not (cqe.flags & IORING_CQE_F_MORE):
            submit_bundle(ring, sockfd)
        io_uring_cqe_seen(ring, cqe)
    return 0


def __do_send(rd, ring, sockfd):
    global no_send_mshot
    bytes_needed = MSG_SIZE * nr_msgs

    for i in range(nr_msgs):
        sqe = io_uring_get_sqe(ring)
        io_uring_prep_send(sqe, sockfd, None, 0, 0)
        sqe.user_data = 10 + i
        sqe.flags |= IOSQE_BUFFER_SELECT
        sqe.buf_group = SEND_BGID

        ret = io_uring_submit(ring)
        assert ret == 1

        if not i:
            rd.barrier.wait()
        cqe = io_uring_wait_cqe(ring)

        if not i and cqe.res == -errno.EINVAL:
            rd.abort = 1
            no_send_mshot = 1
            break
        assert cqe.res == MSG_SIZE, f"send failed cqe: {cqe.res}"
        bytes_needed -= cqe.res
        io_uring_cqe_seen(ring, cqe)
        if not bytes_needed:
            break
    return 0


def do_send(rd):
    global no_send_mshot
    p = io_uring_params()
    ring = io_uring()
    io_uring_queue_init_params(16, ring, p)
    sock = None
    try:
        if not (p.features & IORING_FEAT_RECVSEND_BUNDLE):
            rd.abort = 1
            no_send_mshot = 1
            rd.connect.wait()
            return 0

        buf = mmap.mmap(-1, MSG_SIZE * nr_msgs)

        if not classic_buffers:
            br = io_uring_setup_buf_ring(ring, nr_msgs, SEND_BGID, 0)

            ptr = memoryview(buf)
            for i in range(nr_msgs):
                io_uring_buf_ring_add(br, ptr[i * MSG_SIZE:(i + 1) * MSG_SIZE], MSG_SIZE, i, nr_msgs - 1, i)
            io_uring_buf_ring_advance(br, nr_msgs)
        else:
            provide_classic_buffers(ring, buf, nr_msgs, SEND_BGID)

        kind = socket.SOCK_STREAM if use_tcp else socket.SOCK_DGRAM
        sock = socket.socket(socket.AF_INET, kind, 0)
        sockfd = sock.fileno()

        rd.connect.wait()

        sock.connect((HOST, rd.port))

        rd.startup.wait()

        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1024 * MSG_SIZE)

        # almost fill queue, leave room for one message
        send_seq = 0
        rd.to_eagain = 0
        seq_buf = array.array("Q", [0] * SEQ_SIZE)
        while rd.max_sends:
            rd.max_sends -= 1
            for i in range(SEQ_SIZE):
                seq_buf[i] = send_seq
                send_seq += 1

            try:
                ret = sock.send(seq_buf, socket.MSG_DONTWAIT)
            except BlockingIOError:
                send_seq -= SEQ_SIZE
                break
            assert ret == MSG_SIZE, f"short {ret} send"

            rd.to_eagain += 1
            rd.recv_bytes += MSG_SIZE

        pseq = memoryview(buf).cast("Q")
        for i in range(nr_msgs * SEQ_SIZE):
            pseq[i] = send_seq
            send_seq += 1
        pseq.release()

        # prepare more messages, sending with bundle
        rd.recv_bytes += nr_msgs * MSG_SIZE
        if rd.send_bundle and use_tcp:
            ret = __do_send_bundle(rd, ring, sockfd)
        else:
            ret = __do_send(rd, ring, sockfd)
        assert ret == 0

        rd.finish.wait()
    except BaseException:
        rd.abort = 1
        for b in (rd.connect, rd.startup, rd.barrier, rd.finish):
            b.abort()
        raise
    finally:
        if sock is not None:
            sock.close()
        io_uring_queue_exit(ring)
    return 0


def test(backlog, max_sends, to_eagain, send_bundle, recv_bundle):
    """to_eagain is a one-item list or None (C's int *)."""
    # backlog not reliable on UDP, skip it
    if (backlog or max_sends) and not use_tcp:
        return T_EXIT_PASS

    rd = recv_data()
    rd.max_sends = max_sends
    if to_eagain is not None:
        to_eagain[0] = 0

    rd.send_bundle = send_bundle
    rd.recv_bundle = recv_bundle

    errors = []

    def run():
        try:
            recv_fn(rd)
        except BaseException as exc:
            errors.append(exc)
            rd.ret = 1
            for b in (rd.connect, rd.startup, rd.barrier, rd.finish):
                b.abort()

    recv_thread = threading.Thread(target=run, daemon=True)
    recv_thread.start()

    try:
        ret = do_send(rd)
    except threading.BrokenBarrierError:
        recv_thread.join(30)
        if errors:
            raise errors[0]
        raise
    if no_send_mshot:
        rd.abort = 1                        # no_send_mshot, aborting (ignore other errors)
        recv_thread.join(30)
        return 0

    if ret:
        return ret

    recv_thread.join(60)
    assert not recv_thread.is_alive(), "the receiver never finished"
    if errors:
        raise errors[0]
    if to_eagain is not None:
        to_eagain[0] = rd.to_eagain
    return rd.ret


def run_tests(is_udp):
    global nr_msgs
    eagain_hit = [0]

    nr_msgs = NR_MIN_MSGS

    # test basic send bundle first
    assert test(0, 0, None, 0, 0) == 0, "test a failed"
    if no_send_mshot:
        return T_EXIT_SKIP

    assert test(0, 0, None, 0, 1) == 0, "test b failed"             # test recv bundle
    assert test(0, 0, None, 1, 1) == 0, "test c failed"             # bundling recv and send
    assert test(1, 1000000, eagain_hit, 1, 1) == 0, "test d failed"   # with full socket
    # test bundling with almost full socket
    assert test(1, eagain_hit[0] - (nr_msgs // 2), None, 1, 1) == 0, "test e failed"
    # test recv bundle with almost full socket
    assert test(1, eagain_hit[0] - (nr_msgs // 2), None, 0, 1) == 0, "test f failed"

    if is_udp:
        return T_EXIT_PASS

    # test send bundle with almost full socket
    assert test(1, eagain_hit[0] - (nr_msgs // 2), eagain_hit, 1, 0) == 0, "test g failed"

    # now repeat the last three tests, but with > FAST_UIOV segments
    nr_msgs = NR_MAX_MSGS

    assert test(1, eagain_hit[0] - (nr_msgs // 2), None, 1, 1) == 0, "test h failed"
    assert test(1, eagain_hit[0] - (nr_msgs // 2), None, 0, 1) == 0, "test i failed"
    assert test(1, eagain_hit[0] - (nr_msgs // 2), eagain_hit, 1, 0) == 0, "test j failed"
    return T_EXIT_PASS


def test_tcp():
    global use_tcp
    use_tcp = 1
    return run_tests(False)


def test_udp():
    global use_tcp
    use_tcp = 0
    return run_tests(True)


def main():
    global classic_buffers
    classic_buffers = 0
    for step in (test_tcp, test_udp):
        ret = step()
        if ret != T_EXIT_PASS:
            return ret

    classic_buffers = 1
    try:
        for step in (test_tcp, test_udp):
            ret = step()
            if ret != T_EXIT_PASS:
                return ret
    finally:
        classic_buffers = 0
    return T_EXIT_PASS


def test_main():
    exit_status(main())

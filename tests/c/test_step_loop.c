/* The step loops of include/ioring/step_loop.h (bench/c's programs and ioring._bench run them):
 * what the kernel did under each step is checked here, and so is that a wrong completion makes
 * a step fail instead of counting. NOP steps (user_data sequence), writes that stamp each block
 * (read back with pread), reads that verify the stamps (plain, registered buffers, registered
 * file), a corrupted block caught by verify, a failing request caught by res, the drain, and the
 * timed loop's count. Exit status: 0 pass, 77 skip (no io_uring here), 1 failure. */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ioring/step_loop.h"

#include "harness.h"

#define NBLOCKS 64u
#define QD 8u

/* An unlinked temporary file of NBLOCKS zeroed blocks ($TMPDIR, else /tmp). */
static int temp_file(void)
{
    const char *dir = getenv("TMPDIR");
    char path[4096];
    int fd;
    snprintf(path, sizeof(path), "%s/ioring-step-XXXXXX", dir && *dir ? dir : "/tmp");
    fd = mkstemp(path);
    if (fd < 0)
        return -1;
    unlink(path);
    if (ftruncate(fd, (off_t)NBLOCKS * IORING_STEP_BS) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

struct rw_fixture {
    struct ioring ring;
    struct ioring_rw_loop x;
    unsigned char *bufs;
    uint64_t block[QD];
    struct io_uring_cqe *cqes[QD];
};

static int rw_setup(struct rw_fixture *f, int fd, int write, int fixed_buffers, int fixed_file)
{
    memset(f, 0, sizeof(*f));
    if (ioring_queue_init(QD, &f->ring, 0) < 0)
        return -1;
    if (posix_memalign((void **)&f->bufs, 4096, QD * IORING_STEP_BS))
        return -1;
    memset(f->bufs, 0, QD * IORING_STEP_BS);
    f->x.ring = &f->ring;
    f->x.fd = fd;
    f->x.qd = QD;
    f->x.write = write;
    f->x.verify = !write;
    f->x.fixed_buffers = fixed_buffers;
    f->x.nblocks = NBLOCKS;
    f->x.rng = 0x9e3779b97f4a7c15ull;
    f->x.bufs = f->bufs;
    f->x.block = f->block;
    f->x.cqes = f->cqes;
    if (fixed_buffers) {
        struct iovec iov[QD];
        for (unsigned s = 0; s < QD; s++) {
            iov[s].iov_base = f->bufs + (size_t)s * IORING_STEP_BS;
            iov[s].iov_len = IORING_STEP_BS;
        }
        if (ioring_register_buffers(&f->ring, iov, QD) < 0)
            return -1;
    }
    if (fixed_file) {
        if (ioring_register_files(&f->ring, &fd, 1) < 0)
            return -1;
        f->x.fd = 0;
        f->x.sqe_flags = IOSQE_FIXED_FILE;
    }
    for (unsigned s = 0; s < QD; s++)
        if (ioring_rw_queue(&f->x, s) < 0)
            return -1;
    return 0;
}

static void rw_teardown(struct rw_fixture *f)
{
    ioring_queue_exit(&f->ring);
    free(f->bufs);
}

/* Run steps until at least `want` completions were checked; the count or -1. */
static int64_t steps(struct ioring_rw_loop *x, int64_t want)
{
    int64_t done = 0;
    while (done < want) {
        int n = ioring_rw_step(x);
        if (n < 0)
            return -1;
        done += n;
    }
    return done;
}

/* A ring of `batch` entries and a NOP loop of `batch` NOPs a step on it. */
static int nop_setup(struct ioring *ring, struct ioring_nop_loop *x, struct io_uring_cqe **cqes,
                     unsigned batch)
{
    memset(x, 0, sizeof(*x));
    x->ring = ring;
    x->batch = batch;
    x->cqes = cqes;
    return ioring_queue_init(batch, ring, 0);
}

static int test_nop_step(void)
{
    struct ioring ring;
    struct io_uring_cqe *cqes[16];
    struct ioring_nop_loop x;
    CHECK_EQ(nop_setup(&ring, &x, cqes, 16), 0);
    for (int i = 0; i < 5; i++)
        CHECK_EQ(ioring_nop_step(&x), 16);
    CHECK_EQ(x.seq, 80);                           /* every user_data came back, in order */
    CHECK_EQ(ioring_cq_ready(&ring), 0);
    /* A batch larger than the SQ is refused with a reason, not half-run. */
    x.batch = 32;
    CHECK_EQ(ioring_nop_step(&x), -1);
    CHECK(strstr(x.err, "SQ full") != NULL);
    ioring_queue_exit(&ring);
    return T_PASS;
}

static int test_timed_loop_counts_what_steps_return(void)
{
    struct ioring ring;
    struct io_uring_cqe *cqes[4];
    struct ioring_nop_loop x;
    struct ioring_step_result r;
    CHECK_EQ(nop_setup(&ring, &x, cqes, 4), 0);
    CHECK_EQ(ioring_step_timed(0.05, ioring_nop_step, &x, &r), 0);
    CHECK(r.ops > 0 && r.ops % 4 == 0);
    CHECK(r.seconds >= 0.05);
    CHECK(x.seq >= r.ops);                         /* the warm-up's NOPs are not counted */
    ioring_queue_exit(&ring);
    return T_PASS;
}

static int check_stamps(int fd, unsigned *written)
{
    unsigned char block[IORING_STEP_BS];
    *written = 0;
    for (uint64_t b = 0; b < NBLOCKS; b++) {
        uint64_t stamp;
        if (pread(fd, block, sizeof(block), (off_t)(b * IORING_STEP_BS)) != (ssize_t)sizeof(block))
            return -1;
        memcpy(&stamp, block, sizeof(stamp));
        stamp = le64toh(stamp);
        if (stamp != 0 && stamp != b)
            return -1;                             /* a block stamped with another's number */
        *written += stamp == b && b != 0;
    }
    return 0;
}

static int test_writes_stamp_and_reads_verify(void)
{
    static struct rw_fixture f;
    unsigned written;
    int fd = temp_file();
    CHECK(fd >= 0);
    /* Writes: each block gets its own number (the first 8 bytes, little-endian). */
    CHECK_EQ(rw_setup(&f, fd, 1, 0, 0), 0);
    CHECK(steps(&f.x, 4 * NBLOCKS) >= 4 * NBLOCKS);
    CHECK_EQ(ioring_rw_drain(&f.x, QD), 0);
    rw_teardown(&f);
    CHECK_EQ(check_stamps(fd, &written), 0);
    CHECK(written > NBLOCKS / 2);
    /* Stamp block 0 too and every block not reached, so that every read verifies. */
    for (uint64_t b = 0; b < NBLOCKS; b++) {
        uint64_t stamp = htole64(b);
        CHECK_EQ(pwrite(fd, &stamp, sizeof(stamp), (off_t)(b * IORING_STEP_BS)), sizeof(stamp));
    }
    /* Reads verify: plain, registered buffers, registered buffers and file. */
    for (int mode = 0; mode < 3; mode++) {
        CHECK_EQ(rw_setup(&f, fd, 0, mode >= 1, mode == 2), 0);
        CHECK(steps(&f.x, 2 * NBLOCKS) >= 2 * NBLOCKS);
        CHECK_EQ(ioring_rw_drain(&f.x, QD), 0);
        rw_teardown(&f);
    }
    /* A block with a wrong stamp is a failed step, not a fast one. */
    {
        uint64_t bad = htole64(NBLOCKS + 5);
        for (uint64_t b = 0; b < NBLOCKS; b++)
            CHECK_EQ(pwrite(fd, &bad, sizeof(bad), (off_t)(b * IORING_STEP_BS)), sizeof(bad));
    }
    CHECK_EQ(rw_setup(&f, fd, 0, 0, 0), 0);
    CHECK_EQ(steps(&f.x, 1), -1);
    CHECK(strstr(f.x.err, "read block") != NULL);
    ioring_rw_drain(&f.x, QD);
    rw_teardown(&f);
    close(fd);
    return T_PASS;
}

static int test_failed_request_fails_the_step(void)
{
    static struct rw_fixture f;
    int fd = temp_file(), ro;
    char path[64];
    CHECK(fd >= 0);
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    ro = open(path, O_RDONLY);
    CHECK(ro >= 0);
    CHECK_EQ(rw_setup(&f, ro, 1, 0, 0), 0);       /* writes to a read-only fd: EBADF */
    CHECK_EQ(steps(&f.x, 1), -1);
    CHECK(strstr(f.x.err, "bad completion") != NULL);
    CHECK(strstr(f.x.err, strerror(EBADF)) != NULL);
    CHECK_EQ(ioring_rw_drain(&f.x, QD), 0);       /* the others are waited for */
    rw_teardown(&f);
    close(ro);
    close(fd);
    return T_PASS;
}

int main(void)
{
    static const struct t_case tests[] = {
        {"nop_step", test_nop_step},
        {"timed_loop_counts_what_steps_return", test_timed_loop_counts_what_steps_return},
        {"writes_stamp_and_reads_verify", test_writes_stamp_and_reads_verify},
        {"failed_request_fails_the_step", test_failed_request_fails_the_step},
    };
    require_io_uring();
    return run_tests("test_step_loop", tests, sizeof(tests) / sizeof(tests[0]));
}

/* File I/O through the ring against a real temporary file: read/write, readv/writev,
 * read_fixed/write_fixed on registered buffers, fsync, short reads at EOF, the current-position
 * offset, and errors in cqe->res. Every check is on the bytes (read back with pread) or the
 * errno the kernel returned. Exit status: 0 pass, 77 skip (no io_uring here), 1 failure. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ioring/ioring.h"

#include "harness.h"

static void fill(unsigned char *buf, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (unsigned char)((i * 131u + seed * 7u + (i >> 9)) & 0xff);
}

static int same(const void *a, const void *b, size_t len)
{
    const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
    for (size_t i = 0; i < len; i++) {
        if (x[i] != y[i]) {
            fprintf(stderr, "    byte %zu differs: %#x != %#x\n", i, x[i], y[i]);
            return 0;
        }
    }
    return 1;
}

/* An unlinked temporary file on a real filesystem ($TMPDIR, else /tmp). */
static int temp_file(void)
{
    const char *dir = getenv("TMPDIR");
    char path[4096];
    int fd;
    snprintf(path, sizeof(path), "%s/ioring-test-rw-XXXXXX", dir && *dir ? dir : "/tmp");
    fd = mkstemp(path);
    if (fd >= 0)
        unlink(path);
    else
        perror("mkstemp");
    return fd;
}

/* Submit what is queued, wait for n completions, and return their res by user_data (0..n-1),
 * also checking that every user_data comes back exactly once. */
static int complete(struct ioring *ring, unsigned n, int *res)
{
    unsigned seen = 0;
    CHECK_EQ(ioring_submit_and_wait(ring, n), n);
    for (unsigned i = 0; i < n; i++)
        res[i] = 0x7fffffff;
    for (unsigned i = 0; i < n; i++) {
        struct io_uring_cqe *cqe;
        CHECK_EQ(ioring_wait_cqe(ring, &cqe), 0);
        CHECK(cqe->user_data < n);
        CHECK(!(seen & (1u << cqe->user_data)));
        seen |= 1u << cqe->user_data;
        res[cqe->user_data] = cqe->res;
        ioring_cq_advance(ring, 1);
    }
    CHECK_EQ(ioring_cq_ready(ring), 0);
    return T_PASS;
}

static int one(struct ioring *ring, int *res)
{
    return complete(ring, 1, res);
}

static struct io_uring_sqe *sqe_for(struct ioring *ring, uint64_t user_data)
{
    struct io_uring_sqe *sqe = ioring_get_sqe(ring);
    if (sqe)
        sqe->user_data = user_data;
    return sqe;
}

#define BIG (64 * 1024)

static int t_read_write(void)
{
    struct ioring ring;
    unsigned char *src = malloc(3 * BIG), *dst = calloc(1, 3 * BIG), *chk = malloc(3 * BIG);
    int fd = temp_file(), res[4];
    struct io_uring_sqe *sqe;

    CHECK(src && dst && chk && fd >= 0);
    CHECK_EQ(ioring_queue_init(8, &ring, 0), 0);
    fill(src, 3 * BIG, 1);

    /* Three independent writes in one submission, out of file order. */
    for (unsigned i = 0; i < 3; i++) {
        unsigned part = (i + 2) % 3;
        sqe = sqe_for(&ring, i);
        ioring_prep_write(sqe, fd, src + part * BIG, BIG, (uint64_t)part * BIG);
        CHECK_EQ(sqe->opcode, IORING_OP_WRITE);
        CHECK_EQ(sqe->fd, fd);
        CHECK_EQ(sqe->len, BIG);
        CHECK_EQ(sqe->off, (uint64_t)part * BIG);
        CHECK_EQ(sqe->user_data, i); /* prep keeps user_data */
    }
    if (complete(&ring, 3, res) != T_PASS)
        return T_FAIL;
    for (unsigned i = 0; i < 3; i++)
        CHECK_EQ(res[i], BIG);
    CHECK_EQ(pread(fd, chk, 3 * BIG, 0), 3 * BIG);
    CHECK(same(chk, src, 3 * BIG));

    /* One read of everything, then one read in the middle at an odd offset and length. */
    sqe = sqe_for(&ring, 0);
    ioring_prep_read(sqe, fd, dst, 3 * BIG, 0);
    if (one(&ring, res) != T_PASS)
        return T_FAIL;
    CHECK_EQ(res[0], 3 * BIG);
    CHECK(same(dst, src, 3 * BIG));

    memset(dst, 0, 3 * BIG);
    sqe = sqe_for(&ring, 0);
    ioring_prep_read(sqe, fd, dst + 3, 10007, 54321);
    if (one(&ring, res) != T_PASS)
        return T_FAIL;
    CHECK_EQ(res[0], 10007);
    CHECK(same(dst + 3, src + 54321, 10007));
    CHECK_EQ(dst[2], 0);
    CHECK_EQ(dst[3 + 10007], 0); /* not one byte more */

    /* Overwrite in place and check it reached the file. */
    fill(src + 1000, 777, 9);
    sqe = sqe_for(&ring, 0);
    ioring_prep_write(sqe, fd, src + 1000, 777, 1000);
    if (one(&ring, res) != T_PASS)
        return T_FAIL;
    CHECK_EQ(res[0], 777);
    CHECK_EQ(pread(fd, chk, 3 * BIG, 0), 3 * BIG);
    CHECK(same(chk, src, 3 * BIG));

    ioring_queue_exit(&ring);
    close(fd);
    free(src);
    free(dst);
    free(chk);
    return T_PASS;
}

static int t_readv_writev(void)
{
    struct ioring ring;
    unsigned char src[6123], dst[6123 + 16], chk[6123];
    struct iovec wv[3], rv[3];
    int fd = temp_file(), res[2];
    struct io_uring_sqe *sqe;

    CHECK(fd >= 0);
    CHECK_EQ(ioring_queue_init(4, &ring, 0), 0);
    fill(src, sizeof(src), 2);
    wv[0].iov_base = src;
    wv[0].iov_len = 1000;
    wv[1].iov_base = src + 1000;
    wv[1].iov_len = 5000;
    wv[2].iov_base = src + 6000;
    wv[2].iov_len = 123;
    sqe = sqe_for(&ring, 0);
    ioring_prep_writev(sqe, fd, wv, 3, 7);
    CHECK_EQ(sqe->opcode, IORING_OP_WRITEV);
    CHECK_EQ(sqe->len, 3);
    if (one(&ring, res) != T_PASS)
        return T_FAIL;
    CHECK_EQ(res[0], 6123);
    CHECK_EQ(pread(fd, chk, 6123, 7), 6123);
    CHECK(same(chk, src, 6123));
    CHECK_EQ(pread(fd, chk, 7, 0), 7);
    for (int i = 0; i < 7; i++)
        CHECK_EQ(chk[i], 0); /* the hole before offset 7 */

    /* Read it back split differently, with gaps between the target ranges. */
    memset(dst, 0xee, sizeof(dst));
    rv[0].iov_base = dst;
    rv[0].iov_len = 4096;
    rv[1].iov_base = dst + 4096 + 8;
    rv[1].iov_len = 1;
    rv[2].iov_base = dst + 4096 + 16;
    rv[2].iov_len = 6123 - 4097;
    sqe = sqe_for(&ring, 0);
    ioring_prep_readv(sqe, fd, rv, 3, 7);
    CHECK_EQ(sqe->opcode, IORING_OP_READV);
    if (one(&ring, res) != T_PASS)
        return T_FAIL;
    CHECK_EQ(res[0], 6123);
    CHECK(same(dst, src, 4096));
    CHECK_EQ(dst[4096], 0xee);
    CHECK_EQ(dst[4096 + 8], src[4096]);
    CHECK_EQ(dst[4096 + 9], 0xee);
    CHECK(same(dst + 4096 + 16, src + 4097, 6123 - 4097));

    /* readv2 with RWF_NOWAIT on a cached page works (or is refused per-op, never faked). */
    memset(dst, 0, sizeof(dst));
    rv[0].iov_base = dst;
    rv[0].iov_len = 100;
    sqe = sqe_for(&ring, 0);
    ioring_prep_readv2(sqe, fd, rv, 1, 7, 0x8 /* RWF_NOWAIT */);
    CHECK_EQ(sqe->rw_flags, 0x8);
    if (one(&ring, res) != T_PASS)
        return T_FAIL;
    CHECK(res[0] == 100 || res[0] == -EAGAIN || res[0] == -EOPNOTSUPP);
    if (res[0] == 100)
        CHECK(same(dst, src, 100));

    ioring_queue_exit(&ring);
    close(fd);
    return T_PASS;
}

static int t_fixed(void)
{
    struct ioring ring;
    unsigned char *b0, *b1, chk[3000];
    struct iovec iov[2];
    int fd = temp_file(), res[2], ret;
    struct io_uring_sqe *sqe;

    CHECK(fd >= 0);
    CHECK(posix_memalign((void **)&b0, 4096, BIG) == 0);
    CHECK(posix_memalign((void **)&b1, 4096, BIG) == 0);
    CHECK_EQ(ioring_queue_init(4, &ring, 0), 0);
    fill(b0, BIG, 3);
    memset(b1, 0, BIG);
    iov[0].iov_base = b0;
    iov[0].iov_len = BIG;
    iov[1].iov_base = b1;
    iov[1].iov_len = BIG;
    ret = ioring_register_buffers(&ring, iov, 2);
    if (ret == -ENOMEM || ret == -EPERM)
        SKIP("cannot register buffers: %s (RLIMIT_MEMLOCK?)", strerror(-ret));
    CHECK_EQ(ret, 0);
    CHECK_EQ(ioring_register_buffers(&ring, iov, 2), -EBUSY); /* already registered */

    /* From inside buffer 0, at an offset into it; then the whole of buffer 0. */
    sqe = sqe_for(&ring, 0);
    ioring_prep_write_fixed(sqe, fd, b0 + 100, 3000, 1000, 0);
    CHECK_EQ(sqe->opcode, IORING_OP_WRITE_FIXED);
    CHECK_EQ(sqe->buf_index, 0);
    sqe = sqe_for(&ring, 1);
    ioring_prep_write_fixed(sqe, fd, b0, BIG, BIG, 0);
    if (complete(&ring, 2, res) != T_PASS)
        return T_FAIL;
    CHECK_EQ(res[0], 3000);
    CHECK_EQ(res[1], BIG);
    CHECK_EQ(pread(fd, chk, 3000, 1000), 3000);
    CHECK(same(chk, b0 + 100, 3000));

    /* Into buffer 1. */
    sqe = sqe_for(&ring, 0);
    ioring_prep_read_fixed(sqe, fd, b1 + 50, 3000, 1000, 1);
    CHECK_EQ(sqe->opcode, IORING_OP_READ_FIXED);
    CHECK_EQ(sqe->buf_index, 1);
    sqe = sqe_for(&ring, 1);
    ioring_prep_read_fixed(sqe, fd, b1 + 4096, 4096, BIG + 4096, 1);
    if (complete(&ring, 2, res) != T_PASS)
        return T_FAIL;
    CHECK_EQ(res[0], 3000);
    CHECK_EQ(res[1], 4096);
    CHECK(same(b1 + 50, b0 + 100, 3000));
    CHECK(same(b1 + 4096, b0 + 4096, 4096));
    CHECK_EQ(b1[49], 0);
    CHECK_EQ(b1[3050], 0);

    /* Outside the registered range, or a wrong index: refused by the kernel. */
    sqe = sqe_for(&ring, 0);
    ioring_prep_read_fixed(sqe, fd, b1 + BIG - 10, 100, 0, 1);
    sqe = sqe_for(&ring, 1);
    ioring_prep_read_fixed(sqe, fd, b1, 100, 0, 2);
    if (complete(&ring, 2, res) != T_PASS)
        return T_FAIL;
    CHECK_EQ(res[0], -EFAULT);
    CHECK_EQ(res[1], -EFAULT);

    CHECK_EQ(ioring_unregister_buffers(&ring), 0);
    CHECK_EQ(ioring_unregister_buffers(&ring), -ENXIO);
    sqe = sqe_for(&ring, 0);
    ioring_prep_read_fixed(sqe, fd, b1, 100, 0, 0);
    if (one(&ring, res) != T_PASS)
        return T_FAIL;
    CHECK_EQ(res[0], -EFAULT);

    ioring_queue_exit(&ring);
    close(fd);
    free(b0);
    free(b1);
    return T_PASS;
}

static int t_fsync(void)
{
    struct ioring ring;
    unsigned char buf[4096], chk[4096];
    int fd = temp_file(), res[3];
    struct io_uring_sqe *sqe;

    CHECK(fd >= 0);
    CHECK_EQ(ioring_queue_init(4, &ring, 0), 0);
    fill(buf, sizeof(buf), 4);

    /* write -> fsync -> fdatasync, linked so that they run in order. */
    sqe = sqe_for(&ring, 0);
    ioring_prep_write(sqe, fd, buf, sizeof(buf), 0);
    sqe->flags |= IOSQE_IO_LINK;
    sqe = sqe_for(&ring, 1);
    ioring_prep_fsync(sqe, fd, 0);
    CHECK_EQ(sqe->opcode, IORING_OP_FSYNC);
    CHECK_EQ(sqe->flags, 0);
    ioring_sqe_set_flags(sqe, IOSQE_IO_LINK);
    sqe = sqe_for(&ring, 2);
    ioring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
    CHECK_EQ(sqe->fsync_flags, IORING_FSYNC_DATASYNC);
    if (complete(&ring, 3, res) != T_PASS)
        return T_FAIL;
    CHECK_EQ(res[0], 4096);
    CHECK_EQ(res[1], 0);
    CHECK_EQ(res[2], 0);
    CHECK_EQ(pread(fd, chk, sizeof(chk), 0), 4096);
    CHECK(same(chk, buf, 4096));

    /* fsync of a bad fd fails in res. */
    sqe = sqe_for(&ring, 0);
    ioring_prep_fsync(sqe, 1000000, 0);
    if (one(&ring, res) != T_PASS)
        return T_FAIL;
    CHECK_EQ(res[0], -EBADF);

    ioring_queue_exit(&ring);
    close(fd);
    return T_PASS;
}

static int t_short_read(void)
{
    struct ioring ring;
    unsigned char src[10000], dst[8192];
    struct iovec rv[2];
    int fd = temp_file(), res[3];
    struct io_uring_sqe *sqe;

    CHECK(fd >= 0);
    CHECK_EQ(ioring_queue_init(4, &ring, 0), 0);
    fill(src, sizeof(src), 5);
    CHECK_EQ(pwrite(fd, src, sizeof(src), 0), (ssize_t)sizeof(src));

    memset(dst, 0xcc, sizeof(dst));
    sqe = sqe_for(&ring, 0);
    ioring_prep_read(sqe, fd, dst, 4096, 10000 - 100); /* 100 bytes left */
    sqe = sqe_for(&ring, 1);
    ioring_prep_read(sqe, fd, dst + 4096, 4096, 10000); /* at EOF */
    sqe = sqe_for(&ring, 2);
    ioring_prep_read(sqe, fd, dst + 4096, 4096, 1u << 30); /* far past EOF */
    if (complete(&ring, 3, res) != T_PASS)
        return T_FAIL;
    CHECK_EQ(res[0], 100);
    CHECK_EQ(res[1], 0);
    CHECK_EQ(res[2], 0);
    CHECK(same(dst, src + 9900, 100));
    for (int i = 100; i < 8192; i++)
        CHECK_EQ(dst[i], 0xcc); /* nothing written past the short read */

    /* readv across EOF: the first iovec fills, the second gets what is left. */
    memset(dst, 0xcc, sizeof(dst));
    rv[0].iov_base = dst;
    rv[0].iov_len = 1000;
    rv[1].iov_base = dst + 4096;
    rv[1].iov_len = 4096;
    sqe = sqe_for(&ring, 0);
    ioring_prep_readv(sqe, fd, rv, 2, 10000 - 1500);
    if (one(&ring, res) != T_PASS)
        return T_FAIL;
    CHECK_EQ(res[0], 1500);
    CHECK(same(dst, src + 8500, 1000));
    CHECK(same(dst + 4096, src + 9500, 500));
    CHECK_EQ(dst[4096 + 500], 0xcc);

    ioring_queue_exit(&ring);
    close(fd);
    return T_PASS;
}

/* offset (uint64_t)-1 means "the file position", which then advances (IORING_FEAT_RW_CUR_POS). */
static int t_current_position(void)
{
    struct ioring ring;
    unsigned char src[300], dst[300];
    int fd = temp_file(), res[1];
    struct io_uring_sqe *sqe;

    CHECK(fd >= 0);
    CHECK_EQ(ioring_queue_init(4, &ring, 0), 0);
    if (!(ring.features & IORING_FEAT_RW_CUR_POS))
        SKIP("no IORING_FEAT_RW_CUR_POS");
    fill(src, sizeof(src), 6);
    CHECK_EQ(pwrite(fd, src, sizeof(src), 0), (ssize_t)sizeof(src));
    CHECK_EQ(lseek(fd, 10, SEEK_SET), 10);
    for (int i = 0; i < 3; i++) {
        sqe = sqe_for(&ring, 0);
        ioring_prep_read(sqe, fd, dst + 20 * i, 20, (uint64_t)-1);
        if (one(&ring, res) != T_PASS)
            return T_FAIL;
        CHECK_EQ(res[0], 20);
    }
    CHECK(same(dst, src + 10, 60));
    CHECK_EQ(lseek(fd, 0, SEEK_CUR), 70);
    sqe = sqe_for(&ring, 0);
    ioring_prep_write(sqe, fd, src, 5, (uint64_t)-1);
    if (one(&ring, res) != T_PASS)
        return T_FAIL;
    CHECK_EQ(res[0], 5);
    CHECK_EQ(lseek(fd, 0, SEEK_CUR), 75);
    CHECK_EQ(pread(fd, dst, 5, 70), 5);
    CHECK(same(dst, src, 5));
    ioring_queue_exit(&ring);
    close(fd);
    return T_PASS;
}

static int t_errors(void)
{
    struct ioring ring;
    char buf[64];
    int fd = temp_file(), rdonly, res[3];
    struct io_uring_sqe *sqe;
    char path[64];

    CHECK(fd >= 0);
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    rdonly = open(path, O_RDONLY);
    CHECK(rdonly >= 0);
    CHECK_EQ(ioring_queue_init(4, &ring, 0), 0);
    sqe = sqe_for(&ring, 0);
    ioring_prep_read(sqe, -1, buf, sizeof(buf), 0);
    sqe = sqe_for(&ring, 1);
    ioring_prep_write(sqe, rdonly, buf, sizeof(buf), 0);
    sqe = sqe_for(&ring, 2);
    ioring_prep_read(sqe, fd, (void *)16, sizeof(buf), 0); /* bad address, empty file */
    if (complete(&ring, 3, res) != T_PASS)
        return T_FAIL;
    CHECK_EQ(res[0], -EBADF);
    CHECK_EQ(res[1], -EBADF);
    CHECK(res[2] == 0 || res[2] == -EFAULT); /* EOF comes first on an empty file */

    CHECK_EQ(pwrite(fd, "x", 1, 0), 1);
    sqe = sqe_for(&ring, 0);
    ioring_prep_read(sqe, fd, (void *)16, sizeof(buf), 0);
    if (one(&ring, res) != T_PASS)
        return T_FAIL;
    CHECK_EQ(res[0], -EFAULT);
    ioring_queue_exit(&ring);
    close(rdonly);
    close(fd);
    return T_PASS;
}

int main(void)
{
    static const struct t_case tests[] = {
        {"rw: prep_write / prep_read", t_read_write},
        {"rw: writev / readv", t_readv_writev},
        {"rw: write_fixed / read_fixed with registered buffers", t_fixed},
        {"rw: fsync, fdatasync, linked after a write", t_fsync},
        {"rw: short read at EOF", t_short_read},
        {"rw: offset -1 uses and advances the file position", t_current_position},
        {"rw: errors in cqe->res", t_errors},
    };
    setvbuf(stdout, NULL, _IOLBF, 0);
    require_io_uring();
    return run_tests("test_rw", tests, sizeof(tests) / sizeof(tests[0]));
}

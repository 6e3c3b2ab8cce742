/* ioring_sqe_refs() (include/ioring/sqe_refs.h): what the kernel dereferences through an SQE's
 * fields, for SQEs built by the prep helpers. No kernel needed: the description is pure.
 * Exit status: 0 pass, 1 failure. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>

#include "ioring/ioring.h"

#include "harness.h"

static struct io_uring_sqe sqe;
static struct ioring_sqe_ref refs[IORING_SQE_MAX_REFS];
static char buf[64];

/* The ref naming the field at byte offset off, or NULL. */
static const struct ioring_sqe_ref *ref_at(int n, unsigned off)
{
    for (int i = 0; i < n; i++)
        if (refs[i].off == off)
            return &refs[i];
    return NULL;
}

static int test_every_opcode_fits_the_array(void)
{
    for (int op = 0; op < 256; op++) {
        memset(&sqe, 0, sizeof(sqe));
        sqe.opcode = (uint8_t)op;
        CHECK(ioring_sqe_refs(&sqe, refs) <= IORING_SQE_MAX_REFS);
    }
    return T_PASS;
}

static int test_read_and_write_use_len_bytes_at_addr(void)
{
    const struct ioring_sqe_ref *r;
    ioring_prep_read(&sqe, 3, buf, 48, 0);
    r = ref_at(ioring_sqe_refs(&sqe, refs), IORING_SQE_OFF(addr));
    CHECK(r && r->kind == IORING_REF_BYTES && r->count == 48 && r->write && r->size == 8);
    ioring_prep_write(&sqe, 3, buf, 20, 0);
    r = ref_at(ioring_sqe_refs(&sqe, refs), IORING_SQE_OFF(addr));
    CHECK(r && r->kind == IORING_REF_BYTES && r->count == 20 && !r->write);
    CHECK(ref_at(ioring_sqe_refs(&sqe, refs), IORING_SQE_OFF(off)) == NULL);   /* a file offset */
    return T_PASS;
}

static int test_vectorized_send_reads_an_iovec_array(void)
{
    struct iovec iov[2];
    const struct ioring_sqe_ref *r;
    ioring_prep_send(&sqe, 3, iov, 2, 0);
    r = ref_at(ioring_sqe_refs(&sqe, refs), IORING_SQE_OFF(addr));
    CHECK(r && r->kind == IORING_REF_BYTES && r->count == 2);
    sqe.ioprio |= IORING_SEND_VECTORIZED;
    r = ref_at(ioring_sqe_refs(&sqe, refs), IORING_SQE_OFF(addr));
    CHECK(r && r->kind == IORING_REF_IOVEC && r->count == 2 && !r->write);
    return T_PASS;
}

static int test_timeout_flags_decide_what_addr_and_addr2_are(void)
{
    struct ioring_kernel_timespec ts = {0, 0};
    int n;
    ioring_prep_timeout(&sqe, &ts, 0, 0);
    n = ioring_sqe_refs(&sqe, refs);
    CHECK(n == 1 && refs[0].off == IORING_SQE_OFF(addr) && refs[0].count == sizeof(ts));
    sqe.timeout_flags = IORING_TIMEOUT_IMMEDIATE_ARG;       /* addr holds nanoseconds */
    CHECK(ioring_sqe_refs(&sqe, refs) == 0);
    ioring_prep_timeout_remove(&sqe, 5, 0);                  /* addr: a user_data */
    CHECK(ioring_sqe_refs(&sqe, refs) == 0);
    sqe.timeout_flags = IORING_TIMEOUT_UPDATE;               /* addr2: the new timespec */
    n = ioring_sqe_refs(&sqe, refs);
    CHECK(n == 1 && refs[0].off == IORING_SQE_OFF(off) && refs[0].kind == IORING_REF_BYTES);
    return T_PASS;
}

static int test_paths_and_out_structs(void)
{
    struct ioring_statx st;
    const struct ioring_sqe_ref *r;
    int n;
    ioring_prep_statx(&sqe, AT_FDCWD, "p", 0, 0, &st);
    n = ioring_sqe_refs(&sqe, refs);
    r = ref_at(n, IORING_SQE_OFF(addr));
    CHECK(r && r->kind == IORING_REF_CSTR);
    r = ref_at(n, IORING_SQE_OFF(off));
    CHECK(r && r->kind == IORING_REF_BYTES && r->count == sizeof(st) && r->write);
    return T_PASS;
}

static int test_what_only_a_prep_sets(void)
{
    int n;
    ioring_prep_accept(&sqe, 3, NULL, NULL, 0);
    n = ioring_sqe_refs(&sqe, refs);
    CHECK(ref_at(n, IORING_SQE_OFF(addr))->kind == IORING_REF_LOCKED);
    CHECK(ref_at(n, IORING_SQE_OFF(off))->kind == IORING_REF_LOCKED);
    ioring_prep_msg_ring(&sqe, 3, 0, 7, 0);
    n = ioring_sqe_refs(&sqe, refs);
    CHECK(ref_at(n, 0)->kind == IORING_REF_FROZEN);                       /* the opcode */
    CHECK(ref_at(n, IORING_SQE_OFF(fd))->kind == IORING_REF_FROZEN);
    CHECK(ref_at(n, IORING_SQE_OFF(off))->kind == IORING_REF_FROZEN);
    memset(&sqe, 0, sizeof(sqe));
    sqe.opcode = 200;                                                     /* unknown */
    n = ioring_sqe_refs(&sqe, refs);
    CHECK(n == 4 && ref_at(n, IORING_SQE_OFF(addr))->kind == IORING_REF_LOCKED);
    return T_PASS;
}

static int test_uring_cmd_by_cmd_op(void)
{
    const struct ioring_sqe_ref *r;
    int n;
    ioring_prep_cmd_discard(&sqe, 3, 4096, 8192);                         /* values */
    n = ioring_sqe_refs(&sqe, refs);
    CHECK(!ref_at(n, IORING_SQE_OFF(addr)) && !ref_at(n, IORING_SQE_OFF(addr3)));
    sqe.cmd_op = SOCKET_URING_OP_GETSOCKOPT;                              /* addr3: optval */
    sqe.optlen = 4;
    r = ref_at(ioring_sqe_refs(&sqe, refs), IORING_SQE_OFF(addr3));
    CHECK(r && r->kind == IORING_REF_BYTES && r->count == 4 && r->write);
    sqe.cmd_op = 0x1234;                                                  /* a driver's */
    n = ioring_sqe_refs(&sqe, refs);
    CHECK(ref_at(n, IORING_SQE_OFF(addr))->kind == IORING_REF_LOCKED);
    CHECK(ref_at(n, IORING_SQE_OFF(addr3))->kind == IORING_REF_LOCKED);
    return T_PASS;
}

int main(void)
{
    (void)require_io_uring;             /* pure description: no kernel needed */
    static const struct t_case tests[] = {
        {"every_opcode_fits_the_array", test_every_opcode_fits_the_array},
        {"read_and_write_use_len_bytes_at_addr", test_read_and_write_use_len_bytes_at_addr},
        {"vectorized_send_reads_an_iovec_array", test_vectorized_send_reads_an_iovec_array},
        {"timeout_flags_decide_what_addr_and_addr2_are", test_timeout_flags_decide_what_addr_and_addr2_are},
        {"paths_and_out_structs", test_paths_and_out_structs},
        {"what_only_a_prep_sets", test_what_only_a_prep_sets},
        {"uring_cmd_by_cmd_op", test_uring_cmd_by_cmd_op},
    };
    return run_tests("test_sqe_refs", tests, sizeof(tests) / sizeof(tests[0]));
}

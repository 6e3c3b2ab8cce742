/* The kernel's cost of reading many small files whole: the limit of Ring.read_files (issue 19).
 *
 *   bench_smallfiles [--files N] [--size BYTES] [--reps R] [--dir DIR] [--slots S] [--batch B]
 *                    [--iowq-max W]
 *
 * Makes N files (default 5,000) of BYTES +- 1 KiB (default 8 KiB) in DIR (default $TMPDIR, else
 * /tmp), reads them once (warm page cache), then reads every file whole R times (default 5) in
 * each of these ways, interleaved within each repetition, and prints the median wall and CPU
 * time (the process's user + sys, io-wq workers included) and io_uring_enter calls per file:
 *
 *   loop          open -> read(32 KiB) -> close, one file after the other (the blocking loop)
 *   loop-2threads the same loop split over 2 threads
 *   chain         one io_uring chain per file, as Ring.read_files queues it:
 *                 openat_direct(slot) -> read(FIXED_FILE, HARDLINK) -> close_direct(slot),
 *                 S slots (default 128) in flight, chains queued as slots free up
 *   chain-skip    the same, the open with IOSQE_CQE_SKIP_SUCCESS (2 CQEs per file, not 3)
 *   chain-async/2 every other chain with IOSQE_ASYNC (io-wq runs it, on the other CPU)
 *   chain-async   every chain with IOSQE_ASYNC
 *   2rings        every other file on a second ring (its own file table), all with IOSQE_ASYNC,
 *                 the others inline on the first: io-wq's workers then lock the second ring's
 *                 table, not the one the submitting thread holds while it runs its chains
 *
 * --iowq-max W limits io-wq to W bounded workers (IORING_REGISTER_IOWQ_MAX_WORKERS; default:
 * the kernel's, which starts a worker for every request queued while the others are busy).
 *
 * Each read lands in the slot's 32 KiB buffer and is checked (its length and first byte); no
 * copy out of it is made, so this is the kernel's work plus the ring's, nothing a binding adds.
 * Output: one line per way, key=value:
 *   way=chain files=5000 wall_ms=... cpu_ms=... enters_per_file=... impl=ioring */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif
#include <fcntl.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "bench_loop.h"
#include "ioring/prep_fs.h"
#include "ioring/register_files.h"
#include "ioring/register_ring.h"

#define BUF 32768
#define MAX_SLOTS 1024
#define MAX_REPS 101

struct files {
    unsigned n;
    char **paths;
    unsigned *sizes;
};

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

static void fail(const char *what, int err)
{
    fprintf(stderr, "%s: %s\n", what, strerror(err));
    exit(BENCH_EXIT_FAIL);
}

static void check(const struct files *f, unsigned i, const char *buf, long got)
{
    if (got != (long)f->sizes[i] || (got > 0 && (unsigned char)buf[0] != (i & 0xFF))) {
        fprintf(stderr, "%s: read %ld bytes, expected %u\n", f->paths[i], got, f->sizes[i]);
        exit(BENCH_EXIT_FAIL);
    }
}

static void make_files(struct files *f, const char *dir, unsigned n, unsigned size)
{
    static char block[1 << 20];
    unsigned seed = 19;
    f->n = n;
    f->paths = calloc(n, sizeof(char *));
    f->sizes = calloc(n, sizeof(unsigned));
    for (size_t k = 0; k < sizeof(block); k++)
        block[k] = (char)rand_r(&seed);
    for (unsigned i = 0; i < n; i++) {
        unsigned len = size + (unsigned)(rand_r(&seed) % 2049) - 1024;
        if (len > BUF - 1)
            len = BUF - 1;
        if (asprintf(&f->paths[i], "%s/f%05u", dir, i) < 0)
            fail("asprintf", ENOMEM);
        int fd = open(f->paths[i], O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0)
            fail(f->paths[i], errno);
        block[0] = (char)(i & 0xFF);
        if (write(fd, block, len) != (ssize_t)len)
            fail("write", errno);
        close(fd);
        f->sizes[i] = len;
    }
}

/* ---- the blocking loop --------------------------------------------------------------------- */

struct loop_arg {
    const struct files *f;
    unsigned begin, end;
};

static void *loop_part(void *p)
{
    struct loop_arg *a = p;
    char *buf = malloc(BUF);
    for (unsigned i = a->begin; i < a->end; i++) {
        int fd = open(a->f->paths[i], O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            fail(a->f->paths[i], errno);
        long got = read(fd, buf, BUF);
        check(a->f, i, buf, got);
        close(fd);
    }
    free(buf);
    return NULL;
}

static unsigned long run_loop(const struct files *f, unsigned threads)
{
    pthread_t t[2];
    struct loop_arg a[2];
    for (unsigned k = 0; k < threads; k++) {
        a[k].f = f;
        a[k].begin = f->n * k / threads;
        a[k].end = f->n * (k + 1) / threads;
    }
    if (threads == 1) {
        loop_part(&a[0]);
        return 0;
    }
    for (unsigned k = 0; k < threads; k++)
        pthread_create(&t[k], NULL, loop_part, &a[k]);
    for (unsigned k = 0; k < threads; k++)
        pthread_join(t[k], NULL);
    return 0;
}

/* ---- io_uring chains ----------------------------------------------------------------------- */

enum { STEP_OPEN = 0, STEP_READ = 1, STEP_CLOSE = 2 };

struct chain_opts {
    unsigned slots;
    unsigned batch;         /* chains queued before an io_uring_enter (0: as many as fit) */
    unsigned async_every;   /* IOSQE_ASYNC on every k-th chain (0: none) */
    int skip_open;          /* IOSQE_CQE_SKIP_SUCCESS on the open */
};

static void queue_chain(bench_ring *ring, char *buf, unsigned slot, unsigned i, const char *path,
                        unsigned extra, unsigned open_flags)
{
    struct io_uring_sqe *sqe = ioring_get_sqe(ring);
    ioring_prep_openat_direct(sqe, AT_FDCWD, path, O_RDONLY, 0, slot);
    sqe->flags = IOSQE_IO_LINK | extra | open_flags;
    sqe->user_data = (uint64_t)i << 12 | slot << 2 | STEP_OPEN;
    sqe = ioring_get_sqe(ring);
    ioring_prep_read(sqe, (int)slot, buf, BUF, 0);
    sqe->flags = IOSQE_FIXED_FILE | IOSQE_IO_HARDLINK | extra;
    sqe->user_data = (uint64_t)i << 12 | slot << 2 | STEP_READ;
    sqe = ioring_get_sqe(ring);
    ioring_prep_close_direct(sqe, slot);
    sqe->user_data = (uint64_t)i << 12 | slot << 2 | STEP_CLOSE;
}

static unsigned long run_chains(bench_ring *ring, const struct files *f, char *bufs,
                                const struct chain_opts *o)
{
    unsigned free_slots[MAX_SLOTS], nfree = 0, next = 0, done = 0;
    unsigned long enters = 0;
    for (unsigned s = 0; s < o->slots; s++)
        free_slots[nfree++] = o->slots - 1 - s;
    while (done < f->n) {
        unsigned queued = 0;
        while (nfree && next < f->n && ioring_sq_space_left(ring) >= 3 &&
               (o->batch == 0 || queued < o->batch)) {
            unsigned s = free_slots[--nfree];
            unsigned extra = (o->async_every && next % o->async_every == 0) ? IOSQE_ASYNC : 0;
            queue_chain(ring, bufs + (size_t)s * BUF, s, next, f->paths[next], extra,
                        o->skip_open ? IOSQE_CQE_SKIP_SUCCESS : 0);
            next++;
            queued++;
        }
        int ret = ioring_submit_and_wait(ring, ioring_cq_ready(ring) ? 0 : 1);
        enters++;
        if (ret < 0 && ret != -EINTR)
            fail("io_uring_enter", -ret);
        unsigned head, seen = 0;
        struct io_uring_cqe *cqe;
        unsigned ready = ioring_cq_ready(ring);
        for (head = 0; head < ready; head++) {
            cqe = ioring_cqe_at(ring, *ring->cq.khead + head);
            unsigned i = (unsigned)(cqe->user_data >> 12);
            unsigned s = (unsigned)(cqe->user_data >> 2) & (MAX_SLOTS - 1);
            unsigned step = cqe->user_data & 3;
            seen++;
            if (step == STEP_OPEN) {
                if (cqe->res < 0)
                    fail(f->paths[i], -cqe->res);
                continue;
            }
            if (step == STEP_READ) {
                check(f, i, bufs + (size_t)s * BUF, cqe->res);
            } else {
                if (cqe->res < 0)
                    fail("close_direct", -cqe->res);
                free_slots[nfree++] = s;
                done++;
            }
        }
        ioring_cq_advance(ring, seen);
    }
    return enters;
}

/* Two rings: files i % 2 == 0 on ring b (IOSQE_ASYNC), the others inline on ring a. */
struct ring_state {
    bench_ring *ring;
    char *bufs;
    unsigned free_slots[MAX_SLOTS], nfree, next, inflight;
    unsigned extra;
};

static unsigned reap_ring(struct ring_state *r, const struct files *f)
{
    unsigned ready = ioring_cq_ready(r->ring), done = 0;
    for (unsigned head = 0; head < ready; head++) {
        struct io_uring_cqe *cqe = ioring_cqe_at(r->ring, *r->ring->cq.khead + head);
        unsigned i = (unsigned)(cqe->user_data >> 12);
        unsigned s = (unsigned)(cqe->user_data >> 2) & (MAX_SLOTS - 1);
        unsigned step = cqe->user_data & 3;
        if (step == STEP_OPEN) {
            if (cqe->res < 0)
                fail(f->paths[i], -cqe->res);
        } else if (step == STEP_READ) {
            check(f, i, r->bufs + (size_t)s * BUF, cqe->res);
        } else {
            if (cqe->res < 0)
                fail("close_direct", -cqe->res);
            r->free_slots[r->nfree++] = s;
            r->inflight--;
            done++;
        }
    }
    ioring_cq_advance(r->ring, ready);
    return done;
}

static unsigned long run_two_rings(bench_ring *a, bench_ring *b, const struct files *f,
                                   char *bufs_a, char *bufs_b, unsigned slots)
{
    static struct ring_state st[2];
    unsigned long enters = 0;
    unsigned done = 0;
    for (unsigned k = 0; k < 2; k++) {
        st[k].ring = k ? b : a;
        st[k].bufs = k ? bufs_b : bufs_a;
        st[k].nfree = 0;
        st[k].next = k ? 0 : 1;
        st[k].inflight = 0;
        st[k].extra = k ? IOSQE_ASYNC : 0;
        for (unsigned s = 0; s < slots; s++)
            st[k].free_slots[st[k].nfree++] = slots - 1 - s;
    }
    while (done < f->n) {
        for (unsigned k = 2; k-- > 0;) {       /* the io-wq ring first: its work starts at once */
            struct ring_state *r = &st[k];
            while (r->nfree && r->next < f->n && ioring_sq_space_left(r->ring) >= 3) {
                unsigned s = r->free_slots[--r->nfree];
                queue_chain(r->ring, r->bufs + (size_t)s * BUF, s, r->next, f->paths[r->next],
                            r->extra, 0);
                r->next += 2;
                r->inflight++;
            }
            if (ioring_sq_ready(r->ring)) {
                int ret = ioring_submit(r->ring);
                enters++;
                if (ret < 0 && ret != -EINTR)
                    fail("io_uring_enter", -ret);
            }
            done += reap_ring(r, f);
        }
        if (!ioring_cq_ready(a) && !ioring_cq_ready(b) && done < f->n) {
            /* a wait on one ring does not return for the other's completions: wait on the
             * one with chains in flight, at most 1 ms (ring a's rarely wait: inline) */
            struct ioring_kernel_timespec ts = {0, 1000000};
            struct io_uring_cqe *cqe;
            int ret = ioring_wait_cqes_timeout(st[1].inflight ? b : a, &cqe, 0, 1, &ts, NULL);
            enters++;
            if (ret < 0 && ret != -EINTR && ret != -ETIME)
                fail("io_uring_enter", -ret);
        }
    }
    return enters;
}

/* ---- main ---------------------------------------------------------------------------------- */

#define NWAYS 7
static const char *way_names[NWAYS] = {"loop", "loop-2threads", "chain", "chain-skip",
                                       "chain-async/2", "chain-async", "2rings"};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, unsigned n)
{
    qsort(v, n, sizeof(double), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    unsigned n = 5000, size = 8192, reps = 5, slots = 128, batch = 0, iowq_max = 0;
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && !strcmp(argv[i], "--files"))
            n = (unsigned)atoi(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--size"))
            size = (unsigned)atoi(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--reps"))
            reps = (unsigned)atoi(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--dir"))
            base = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--slots"))
            slots = (unsigned)atoi(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--iowq-max"))
            iowq_max = (unsigned)atoi(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--batch"))
            batch = (unsigned)atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_smallfiles [--files N] [--size BYTES] [--reps R] "
                            "[--dir DIR] [--slots S] [--batch B] [--iowq-max W]\n");
            return BENCH_EXIT_FAIL;
        }
    }
    if (n < 1 || reps < 1 || reps > MAX_REPS || slots < 1 || slots > MAX_SLOTS || size < 1024 ||
        size > BUF - 2048) {
        fprintf(stderr, "bad arguments (1 <= reps <= %d, 1 <= slots <= %d, 1024 <= size <= %d)\n",
                MAX_REPS, MAX_SLOTS, BUF - 2048);
        return BENCH_EXIT_FAIL;
    }
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/ioring-smallfiles-XXXXXX", base);
    if (!mkdtemp(dir))
        fail("mkdtemp", errno);
    struct files f;
    make_files(&f, dir, n, size);
    run_loop(&f, 1); /* warm page cache */

    bench_ring ring;
    bench_ring_init(&ring, 4 * slots < 4096 ? 4 * slots : 4096, 0);
    int ret = ioring_register_files_sparse(&ring, slots);
    if (ret < 0)
        fail("register_files_sparse", -ret);
    if (iowq_max) {
        unsigned counts[2] = {iowq_max, 0};
        ret = ioring_register_iowq_max_workers(&ring, counts);
        if (ret < 0)
            fail("register_iowq_max_workers", -ret);
    }
    char *bufs = malloc((size_t)slots * BUF);
    bench_ring ring2;                  /* 2rings: the io-wq half, its own file table */
    bench_ring_init(&ring2, 4 * slots < 4096 ? 4 * slots : 4096, 0);
    ret = ioring_register_files_sparse(&ring2, slots);
    if (ret < 0)
        fail("register_files_sparse", -ret);
    char *bufs2 = malloc((size_t)slots * BUF);
    struct chain_opts opts[NWAYS] = {
        {0}, {0},
        {slots, batch, 0, 0},
        {slots, batch, 0, 1},
        {slots, batch, 2, 0},
        {slots, batch, 1, 0},
    };
    static double wall[NWAYS][MAX_REPS], cpu[NWAYS][MAX_REPS];
    double enters[NWAYS] = {0};
    printf("# %u files of %u +- 1024 bytes in %s, warm page cache; %u slots; median of %u "
           "interleaved repetitions; io-wq workers: %s\n", n, size, dir, slots, reps,
           iowq_max ? "limited" : "the kernel's default");
    for (unsigned r = 0; r < reps + 1; r++) {          /* round 0: warm-up, untimed */
        for (unsigned w = 0; w < NWAYS; w++) {
            unsigned long e = 0;
            double t0 = now_s(), c0 = cpu_s();
            if (w < 2)
                e = run_loop(&f, w + 1);
            else if (w == NWAYS - 1)
                e = run_two_rings(&ring, &ring2, &f, bufs, bufs2, slots);
            else
                e = run_chains(&ring, &f, bufs, &opts[w]);
            double t1 = now_s(), c1 = cpu_s();
            if (r > 0) {
                wall[w][r - 1] = t1 - t0;
                cpu[w][r - 1] = c1 - c0;
                enters[w] = (double)e / n;
            }
        }
    }
    for (unsigned w = 0; w < NWAYS; w++)
        printf("way=%s files=%u wall_ms=%.1f cpu_ms=%.1f enters_per_file=%.3f impl=%s\n",
               way_names[w], n, median(wall[w], reps) * 1e3, median(cpu[w], reps) * 1e3,
               enters[w], BENCH_IMPL);
    ioring_queue_exit(&ring);
    ioring_queue_exit(&ring2);
    for (unsigned i = 0; i < n; i++) {
        unlink(f.paths[i]);
        free(f.paths[i]);
    }
    rmdir(dir);
    return 0;
}

/* Registered files (io_uring_register_files, updates, the tagged and sparse tables, the
 * allocation range), with liburing 2.15's argument lists and results; as liburing, a
 * registration that fails with EMFILE raises RLIMIT_NOFILE's soft limit once and retries. */
#ifndef IORING_REGISTER_FILES_H
#define IORING_REGISTER_FILES_H

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

#include "ioring/register.h"
#include <sys/resource.h>

static inline int ioring_register_files(struct ioring *ring, const int *files, unsigned nr_files)
{
    return ioring_register(ring, IORING_REGISTER_FILES, files, nr_files);
}

static inline int ioring_unregister_files(struct ioring *ring)
{
    return ioring_register(ring, IORING_UNREGISTER_FILES, NULL, 0);
}

static inline int ioring_register_files_update(struct ioring *ring, unsigned off, const int *files,
                                               unsigned nr_files)
{
    struct io_uring_files_update up;
    memset(&up, 0, sizeof(up));
    up.offset = off;
    up.fds = (uint64_t)(uintptr_t)files;
    return ioring_register(ring, IORING_REGISTER_FILES_UPDATE, &up, nr_files);
}

/* As liburing: on EMFILE, raise RLIMIT_NOFILE's soft limit once and try again. */
static inline void ioring_increase_rlimit_nofile(unsigned nr)
{
    struct rlimit rlim;
    if (getrlimit(RLIMIT_NOFILE, &rlim) < 0)
        return;
    if (rlim.rlim_cur < nr) {
        rlim.rlim_cur += nr;
        (void)setrlimit(RLIMIT_NOFILE, &rlim);
    }
}

static inline int ioring_register_files2(struct ioring *ring, struct io_uring_rsrc_register *reg)
{
    int ret, did_increase = 0;
    int saved = errno;
    for (;;) {
        ret = ioring_register(ring, IORING_REGISTER_FILES2, reg, sizeof(*reg));
        if (ret == -EMFILE && !did_increase) {
            did_increase = 1;
            ioring_increase_rlimit_nofile(reg->nr);
            continue;
        }
        break;
    }
    errno = saved;
    return ret;
}

static inline int ioring_register_files_tags(struct ioring *ring, const int *files,
                                             const uint64_t *tags, unsigned nr)
{
    struct io_uring_rsrc_register reg = ioring_rsrc_table(nr, files, tags, 0);
    return ioring_register_files2(ring, &reg);
}

static inline int ioring_register_files_sparse(struct ioring *ring, unsigned nr)
{
    struct io_uring_rsrc_register reg = ioring_rsrc_table(nr, NULL, NULL, IORING_RSRC_REGISTER_SPARSE);
    return ioring_register_files2(ring, &reg);
}

static inline int ioring_register_files_update_tag(struct ioring *ring, unsigned off,
                                                   const int *files, const uint64_t *tags,
                                                   unsigned nr_files)
{
    struct io_uring_rsrc_update2 up = ioring_rsrc_update(off, files, tags, nr_files);
    return ioring_register(ring, IORING_REGISTER_FILES_UPDATE2, &up, sizeof(up));
}

static inline int ioring_register_file_alloc_range(struct ioring *ring, unsigned off, unsigned len)
{
    struct io_uring_file_index_range range;
    memset(&range, 0, sizeof(range));
    range.off = off;
    range.len = len;
    return ioring_register(ring, IORING_REGISTER_FILE_ALLOC_RANGE, &range, 0);
}

#endif /* IORING_REGISTER_FILES_H */

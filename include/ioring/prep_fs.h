/* io_uring_prep_* helpers of the fs group (see prep.h for the conventions). */
#ifndef IORING_PREP_FS_H
#define IORING_PREP_FS_H

#include "ioring/prep.h"

#endif /* IORING_PREP_FS_H */

/* io_uring_prep_* helpers of the net group (see prep.h for the conventions). */
#ifndef IORING_PREP_NET_H
#define IORING_PREP_NET_H

#include "ioring/prep.h"

#endif /* IORING_PREP_NET_H */

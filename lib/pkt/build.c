/* SPDX-License-Identifier: BSD-3-Clause */
/* placeholder: replaced by the module implementation */
#include <stdint.h>

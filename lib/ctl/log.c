/* SPDX-License-Identifier: BSD-3-Clause */
/* Registration of limpet's log types. */
#include "lp_log.h"

RTE_LOG_REGISTER(lp_logtype_ctl, lib.limpet.ctl, INFO);
RTE_LOG_REGISTER(lp_logtype_health, lib.limpet.health, INFO);
RTE_LOG_REGISTER(lp_logtype_nbr, lib.limpet.nbr, INFO);
RTE_LOG_REGISTER(lp_logtype_cli, lib.limpet.cli, INFO);
RTE_LOG_REGISTER(lp_logtype_app, lib.limpet.app, INFO);

/*
 * aim.h: the whole library under the aim filters (libaim.a), for cmd/ and
 * tests/: every layer's header.  lib/ itself includes its own layer's.
 */
#ifndef AIM_H
#define AIM_H

#include "aim-util.h"
#include "aim-data.h"
#include "aim-config.h"
#include "aim-store.h"
#include "aim-flow.h"
#include "aim-setup.h"

#endif /* AIM_H */

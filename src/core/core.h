#pragma once

// The public header of core/: the error model, addresses, the file interface, clocks and ids.
#include "core/address.h"
#include "core/block_cipher.h"
#include "core/clock.h"
#include "core/file_system.h"
#include "core/status.h"
#include "core/thread_annotations.h"

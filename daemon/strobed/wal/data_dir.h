#pragma once

// The daemon's data directory (--data-dir, config key data_dir): where the write-ahead log and
// exporter checkpoints live. It holds every acknowledged batch, so it must be private to the
// daemon's user: PrepareDataDir creates it (and missing parents) with mode 0700 and refuses one
// that another user owns or that its group or others may write (they could plant or truncate
// segments and make the daemon replay forged data or lose acknowledged data).
//
// Thread class: thread-safe (file-system calls only).

#include <string>

#include "strobe/base/status.h"

namespace strobed::wal {

// Creates `path` (mode 0700, parents too) when missing, then checks that it is a directory
// owned by the effective user with no group/other write permission. INVALID_ARGUMENT for an
// empty path or a non-directory, PERMISSION_DENIED for the ownership/mode checks (the message
// says what to fix), INTERNAL for other errors.
strobe::Status PrepareDataDir(const std::string& path);

// Creates `path` (mode 0700) when missing and checks it like PrepareDataDir; for folders below
// a prepared data dir (wal/, checkpoints/).
strobe::Status PreparePrivateDir(const std::string& path);

// fsync()s a directory, so that files created, renamed or removed in it survive a power loss.
strobe::Status SyncDir(const std::string& path);

}  // namespace strobed::wal

#pragma once

// base::ReadRegularFile: reads a whole configuration-type file (rule files, ...) safely: only a
// regular file is read — a directory would make stream readers throw and a FIFO would block
// the caller (a SIGHUP reload) forever, so the path is opened non-blocking and checked with
// fstat before a byte is read — and at most `max_bytes` of it.
//
// Thread class: thread-safe.

#include <cstddef>
#include <string>

#include "strobe/base/status.h"

namespace strobed::base {

// The content of `path`. NOT_FOUND when it does not exist; INVALID_ARGUMENT ("PATH: cannot
// read: reason") when it is not a regular file, cannot be read, or is longer than `max_bytes`.
strobe::Result<std::string> ReadRegularFile(const std::string& path, std::size_t max_bytes);

}  // namespace strobed::base

#pragma once

// The effective configuration as text: --print-config, the digest /api/v1/status shows, and
// which changed keys a SIGHUP reload cannot apply.
//
// Thread class: pure functions of the Config they read; thread-safe.

#include <string>
#include <vector>

#include "strobed/config/config.h"

namespace strobed::config {

// The effective configuration as YAML, secrets redacted; module sections included verbatim
// (keys ending in token, password or secret redacted there too).
std::string Print(const Config& config);

// A short stable digest (16 hex digits) of Print(config) plus whether a token is set.
std::string Digest(const Config& config);

// Keys whose value differs between `running` and `next` and need a restart to apply, as
// dotted paths (module sections by name).
std::vector<std::string> RestartRequired(const Config& running, const Config& next);

}  // namespace strobed::config

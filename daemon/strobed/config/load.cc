// Load(): defaults < YAML file < STROBE_* environment < flags (config.h). Walks the YAML
// file against the key table (keys.h), keeps module sections raw, and reports every error
// with where it came from.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <set>

#include "strobed/config/config.h"
#include "strobed/config/defaults.h"
#include "strobed/config/keys.h"

namespace strobed::config {
namespace {

std::string Where(const std::string& file, const YAML::Mark& mark) {
  if (mark.is_null()) return file;
  return file + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

strobe::Status WalkMap(Config& config, const YAML::Node& node, const std::string& prefix,
                       const std::string& file) {
  std::set<std::string> seen;
  for (const auto& kv : node) {
    const YAML::Node& k = kv.first;
    const YAML::Node& v = kv.second;
    if (!k.IsScalar()) {
      return strobe::InvalidArgument(Where(file, k.Mark()) + ": keys must be plain names");
    }
    std::string name = k.Scalar();
    std::string path = prefix.empty() ? name : prefix + "." + name;
    if (!seen.insert(name).second) {
      return strobe::InvalidArgument(Where(file, k.Mark()) + ": duplicate key '" + path + "'");
    }
    if (prefix.empty()) {
      auto module = std::find(ModuleSections().begin(), ModuleSections().end(), name);
      if (module != ModuleSections().end()) {
        config.sections[name] = RawSection{v, file};  // shares the parsed document: marks kept
        continue;
      }
    }
    if (const KeySpec* key = FindKey(path)) {
      if (!v.IsScalar() && !v.IsNull()) {
        return strobe::InvalidArgument(Where(file, v.Mark()) + ": '" + path +
                                       "' must be a single value, not a list or map");
      }
      std::string text = v.IsNull() ? "" : v.Scalar();
      if (v.IsNull() && key->option.type != base::OptionType::kString) {
        return strobe::InvalidArgument(Where(file, v.Mark()) + ": '" + path + "' has no value");
      }
      if (strobe::Status s = SetValue(config, *key, text); !s.ok()) {
        return strobe::InvalidArgument(Where(file, v.Mark()) + ": " + path + ": " + s.message());
      }
      continue;
    }
    if (IsKeyGroup(path)) {
      if (v.IsNull()) continue;  // "host:" with nothing under it
      if (!v.IsMap()) {
        return strobe::InvalidArgument(Where(file, v.Mark()) + ": '" + path +
                                       "' must be a map of keys (" + KnownKeysUnder(path) + ")");
      }
      STROBE_RETURN_IF_ERROR(WalkMap(config, v, path, file));
      continue;
    }
    return strobe::InvalidArgument(Where(file, k.Mark()) + ": unknown key '" + path + "' (known" +
                                   (prefix.empty() ? "" : " in " + prefix) + ": " +
                                   KnownKeysUnder(prefix) + ")");
  }
  return strobe::OkStatus();
}

// Reads the whole configuration file. Only a regular file is accepted: a directory made
// yaml-cpp's stream throw std::ios_base::failure (uncaught: exit 134 at start, a dead daemon at
// SIGHUP) and a FIFO would block the reload forever, so the path is opened non-blocking and
// checked with fstat before a byte is read.
strobe::Result<std::string> ReadConfigFile(const std::string& file) {
  int fd = ::open(file.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return strobe::NotFound(file + ": configuration file not found");
    return strobe::InvalidArgument(file + ": cannot read: " + std::strerror(err));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return strobe::InvalidArgument(
        file + ": cannot read: " + (S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file"));
  }
  std::string text;
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return strobe::InvalidArgument(file + ": cannot read: " + std::strerror(err));
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return text;
}

strobe::Status LoadFile(Config& config, const std::string& file,
                        const std::optional<std::string>& text) {
  std::string contents;
  if (text) {
    contents = *text;
  } else {
    auto read = ReadConfigFile(file);
    if (!read.ok()) return read.status();
    contents = std::move(*read);
  }
  YAML::Node root;
  try {
    root = YAML::Load(contents);
  } catch (const YAML::ParserException& e) {
    return strobe::InvalidArgument(Where(file, e.mark) + ": invalid YAML: " + e.msg);
  } catch (const YAML::Exception& e) {
    return strobe::InvalidArgument(Where(file, e.mark) + ": " + e.msg);
  } catch (const std::exception& e) {
    return strobe::InvalidArgument(file + ": cannot read: " + e.what());
  }
  config.file = file;
  if (!root.IsDefined() || root.IsNull()) return strobe::OkStatus();  // empty file
  if (!root.IsMap()) {
    return strobe::InvalidArgument(Where(file, root.Mark()) +
                                   ": the configuration must be a map of sections (" +
                                   KnownKeysUnder("") + ")");
  }
  try {
    return WalkMap(config, root, "", file);
  } catch (const YAML::Exception& e) {
    return strobe::InvalidArgument(Where(file, e.mark) + ": " + e.msg);
  }
}

}  // namespace

const RawSection& Config::Section(std::string_view name) const {
  static const RawSection kEmpty;
  auto it = sections.find(name);
  return it == sections.end() ? kEmpty : it->second;
}

strobe::Result<Config> Load(const LoadOptions& options) {
  Config config;
  if (!options.file.empty() || options.text) {
    STROBE_RETURN_IF_ERROR(
        LoadFile(config, options.file.empty() ? "<config>" : options.file, options.text));
  }
  auto env = options.env;
  if (!env) {
    env = [](std::string_view name) -> std::optional<std::string> {
      const char* v = std::getenv(std::string(name).c_str());
      if (v == nullptr) return std::nullopt;
      return std::string(v);
    };
  }
  for (const KeySpec& key : KeySpecs()) {
    std::optional<std::string> v = env(key.env);
    if (!v) continue;
    if (strobe::Status s = SetValue(config, key, *v); !s.ok()) {
      return strobe::InvalidArgument("environment " + key.env + ": " + s.message());
    }
  }
  for (const auto& o : options.overrides) {
    std::string source = o.flag.empty() ? "--set " + o.key + "=" + o.value : o.flag;
    const KeySpec* key = FindKey(o.key);
    if (key == nullptr) {
      return strobe::InvalidArgument("flag " + source + ": unknown key '" + o.key + "'");
    }
    if (strobe::Status s = SetValue(config, *key, o.value); !s.ok()) {
      return strobe::InvalidArgument("flag " + source + ": " + s.message());
    }
  }
  if (config.server.reserved_connections >= config.server.max_connections) {
    return strobe::InvalidArgument("server.reserved_connections (" +
                                   std::to_string(config.server.reserved_connections) +
                                   ") must be less than server.max_connections (" +
                                   std::to_string(config.server.max_connections) + ")");
  }
  if (!config.auth_token.empty() && !config.auth_token_file.empty()) {
    return strobe::InvalidArgument(
        "auth.token and auth.token_file are both set: set one (the token itself, or the file "
        "that holds it)");
  }
  if (options.builtin.enabled)
    STROBE_RETURN_IF_ERROR(ApplyBuiltinSections(config, options.builtin));
  return config;
}

}  // namespace strobed::config

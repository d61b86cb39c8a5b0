#include "strobed/base/parse.h"
#include "strobed/config/config.h"

namespace strobed::config {

std::string ListenAddress::ToString() const {
  if (!enabled) return "off";
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

strobe::Result<ListenAddress> ListenAddress::Parse(std::string_view text) {
  std::string t(base::TrimSpace(text));
  ListenAddress a;
  if (base::AsciiLower(t) == "off") {
    a.enabled = false;
    a.host.clear();
    return a;
  }
  std::string host;
  std::string port;
  if (!t.empty() && t[0] == '[') {
    size_t close = t.find(']');
    if (close == std::string::npos || close + 1 >= t.size() || t[close + 1] != ':') {
      return strobe::InvalidArgument("'" + t + "' is not HOST:PORT ([v6]:port, :PORT or off)");
    }
    host = t.substr(1, close - 1);
    port = t.substr(close + 2);
  } else {
    size_t colon = t.rfind(':');
    if (colon == std::string::npos) {
      return strobe::InvalidArgument("'" + t + "' is not HOST:PORT (:PORT or off)");
    }
    host = t.substr(0, colon);
    port = t.substr(colon + 1);
    if (host.find(':') != std::string::npos) {
      return strobe::InvalidArgument("'" + t + "': write IPv6 hosts in brackets, [::1]:9800");
    }
  }
  if (host.empty()) host = "127.0.0.1";
  auto p = base::ParseInt(port);
  if (!p.ok() || *p < 0 || *p > 65535) {
    return strobe::InvalidArgument("'" + t + "': port must be 0..65535");
  }
  a.host = host;
  a.port = static_cast<uint16_t>(*p);
  return a;
}

}  // namespace strobed::config

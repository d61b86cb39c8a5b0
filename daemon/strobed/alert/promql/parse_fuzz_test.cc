// Fuzzes the PromQL parser: any input gives an expression or a "line:col: reason" error —
// never a crash, hang or sanitizer report. A parsed expression must print (ToString) to text
// that parses again to the same text, and MaxRangeMs must not overflow.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "strobed/alert/promql/ast.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto expr = strobed::alert::promql::Parse(text);
  if (!expr.ok()) {
    const strobe::Status status = expr.status();
    const std::string& msg = status.message();
    // Every error names its position first.
    if (msg.empty() || msg[0] < '1' || msg[0] > '9' || msg.find(':') == std::string::npos) {
      std::abort();
    }
    return 0;
  }
  if (strobed::alert::promql::MaxRangeMs(*expr) < 0) std::abort();
  const std::string printed = strobed::alert::promql::ToString(*expr);
  auto again = strobed::alert::promql::Parse(printed);
  if (!again.ok()) std::abort();
  if (strobed::alert::promql::ToString(*again) != printed) std::abort();
  return 0;
}

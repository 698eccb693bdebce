// JsonString: whatever bytes a policy or a kernel table holds, the JSON
// fwc writes stays valid.
#include <catch2/catch.hpp>

#include "compiler/base/json.h"

namespace fwc {
namespace {

TEST_CASE("JsonString escapes and keeps the output valid UTF-8", "[json]") {
  struct Case {
    std::string in, out;
  };
  const Case cases[] = {
      {"", "\"\""},
      {"accept http", "\"accept http\""},
      {"say \"hi\"", "\"say \\\"hi\\\"\""},
      {"a\\b", "\"a\\\\b\""},
      {"l1\nl2\tx", "\"l1\\nl2\\tx\""},
      {std::string("nul\0x", 5), "\"nul\\u0000x\""},
      {"\x1b[31m", "\"\\u001b[31m\""},
      {"del\x7f", "\"del\\u007f\""},
      {"caf\xc3\xa9", "\"caf\xc3\xa9\""},                 // valid UTF-8 is kept
      {"\xe2\x82\xac 5", "\"\xe2\x82\xac 5\""},           // three bytes
      {"bad\xff", "\"bad\\ufffd\""},                      // not UTF-8
      {"cut\xc3", "\"cut\\ufffd\""},                      // truncated sequence
      {"\xc0\xaf", "\"\\ufffd\\ufffd\""},                 // overlong '/'
      {"\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""},      // a surrogate
  };
  for (const auto& c : cases) {
    INFO(c.in);
    CHECK(JsonString(c.in) == c.out);
  }
}

}  // namespace
}  // namespace fwc
